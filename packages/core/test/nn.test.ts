import * as tf from '@tensorflow/tfjs';
import { Module, Linear, Conv2d, LayerNorm, BatchNorm2d, ModuleList } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

class Block extends Module {
  fc: Linear;
  norm: LayerNorm;
  constructor() {
    super();
    this.norm = this.addModule('norm2', new LayerNorm(4));
    this.fc = this.addModule('fc1', new Linear(4, 3));
  }
}
class Net extends Module {
  blocks = this.addModule('blocks', new ModuleList([new Block(), new Block()]));
  bn = this.addModule('bn', new BatchNorm2d(3));
  dw = this.addModule('dw', new Conv2d(3, 6, 3, { groups: 3, padding: 1 }));
}

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('official dotted names and PyTorch layouts', () => {
  const net = new Net();
  const spec = net.stateDictSpec();
  expect(Object.keys(spec)).toEqual([
    'blocks.0.norm2.weight', 'blocks.0.norm2.bias', 'blocks.0.fc1.weight', 'blocks.0.fc1.bias',
    'blocks.1.norm2.weight', 'blocks.1.norm2.bias', 'blocks.1.fc1.weight', 'blocks.1.fc1.bias',
    'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked',
    'dw.weight', 'dw.bias',
  ]);
  expect(spec['blocks.0.fc1.weight'].shape).toEqual([3, 4]);
  expect(spec['dw.weight'].shape).toEqual([6, 1, 3, 3]);
  expect(spec['bn.num_batches_tracked'].dtype).toBe('int64');
  // 2 * (4 + 4 + 12 + 3) + 3 + 3 + 54 + 6, buffers excluded
  expect(net.numParameters()).toBe(112);
});

test('loadStateDict reports missing and unexpected keys and converts layouts', () => {
  const net = new Net();
  const sd = net.stateDict();
  const res = new Net().loadStateDict(sd);
  expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
  const partial: Record<string, tf.Tensor> = { ...sd, 'extra.weight': tf.zeros([1]) };
  delete partial['bn.bias'];
  const other = new Net();
  expect(() => other.loadStateDict(partial)).toThrow(/1 missing key\(s\) \[bn\.bias\].*1 unexpected key\(s\) \[extra\.weight\]/);
  expect(other.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ['bn.bias'], unexpectedKeys: ['extra.weight'] });
  // A round trip through PyTorch layout reproduces the weights exactly.
  const a = net.dw.weight.dataSync();
  expect(Array.from(other.dw.weight.dataSync())).toEqual(Array.from(a));
  expect(() => other.loadStateDict({ 'dw.weight': tf.zeros([6, 3, 3, 3]) }, { strict: false })).toThrow(/'dw.weight' has shape \[6,3,3,3\]/);
});

test('depth-wise conv matches a per-channel reference and BatchNorm tracks running stats', () => {
  const conv = new Conv2d(2, 2, 3, { groups: 2, padding: 1, bias: false });
  // torch weight [2,1,3,3]: channel 0 sums its 3x3 window, channel 1 picks the centre
  const w = tf.tensor4d([...Array(9).fill(1), 0, 0, 0, 0, 1, 0, 0, 0, 0], [2, 1, 3, 3]);
  conv.loadStateDict({ weight: w });
  const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
  expect(Array.from(conv.forward(x).dataSync())).toEqual([10, 10, 10, 20, 10, 30, 10, 40]);
  const bn = new BatchNorm2d(1);
  bn.forward(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]));
  expect(bn.runningMean.dataSync()[0]).toBeCloseTo(0.25, 6);
  expect(bn.runningVar.dataSync()[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6);
  expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
});
