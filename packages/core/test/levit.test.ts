/** LeViT: official fixture parity (training form and BN-folded form), presets' parameter counts and FLOPs, fusion. */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CLS_BACKBONES, LeViT, levitPresetConfig, foldBatchNorms, type LeViTPreset } from '@litv2/core';
import { initBackend, checkFixture, formatFixtureReport, levitFixtureHandler } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const fixture = path.resolve(repoRoot, '../shared/reference/backbones/levit_128s.json');

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('levit_128s.json: bias index tables, params, FLOPs, every intermediate (stage-wise, 1e-4), both logits, fused keys', async () => {
  const r = await checkFixture(fixture, [levitFixtureHandler], { atol: 1e-4, rtol: 1e-4 });
  if (!r.ok) console.log(formatFixtureReport(r));
  expect(r.ok).toBe(true);
  expect(r.notCompared).toEqual([]);
  const names = r.rows.map((x) => x.name);
  for (const n of ['param_count', 'flops_counter', 'stage3_out', 'logits', 'logits_fused', 'fused:head.bias', 'fused:blocks.4.kv.weight']) expect(names).toContain(n);
}, 120_000);

// README table of ../shared/reference/backbones (exact counts of the official classes, both 1000-class heads).
const PRESETS: [LeViTPreset, number, number][] = [
  ['LeViT_128S', 7_777_058, 305_108_946],
  ['LeViT_128', 9_213_936, 406_114_880],
  ['LeViT_192', 10_947_069, 657_601_916],
  ['LeViT_256', 18_893_876, 1_128_024_056],
  ['LeViT_384', 39_128_836, 2_352_935_380],
];

test.each(PRESETS)('%s: parameters and official FLOPs counter', (name, params, flops) => {
  const m = CLS_BACKBONES.build({ type: name }, undefined, { path: 'model.backbone' }) as LeViT;
  expect(m.numParameters()).toBe(params);
  expect(m.flops()).toBe(flops);
  m.dispose();
});

test('fuse() folds every BN: same eval logits, no BN keys left, official fused names', () => {
  const cfg = { ...levitPresetConfig('LeViT_128S'), img_size: 64, num_classes: 7 };
  const m = new LeViT(cfg);
  // Non-trivial BN statistics so the folding is exercised.
  tf.tidy(() => {
    for (const [n, p] of m.namedEntries()) {
      if (n.endsWith('running_var')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 2, 'float32', 1));
      if (n.endsWith('running_mean') || n.endsWith('bn.bias')) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 2));
      if (n.endsWith('bn.weight')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', 3));
    }
  });
  m.eval();
  const f = m.fuse().eval();
  const keys = Object.keys(f.stateDictSpec());
  expect(keys.some((k) => k.includes('.bn.') || k.includes('.c.') || k.includes('.l.'))).toBe(false);
  expect(keys).toContain('blocks.0.m.qkv.weight');
  expect(keys).toContain('head_dist.bias');
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const a = m.forward(x);
  const b = f.forward(x);
  expect(tf.max(tf.abs(a.sub(b))).dataSync()[0]).toBeLessThan(1e-3 * Math.max(1, tf.max(tf.abs(a)).dataSync()[0]));
  // Training form: the class head alone; evaluation: the mean of both heads.
  m.train();
  const t = m.forward(x);
  expect(t.shape).toEqual([2, 7]);
  tf.dispose([x, a, b, t]);
  m.dispose();
  f.dispose();
});

test('foldBatchNorms: Linear+BN and BN+Linear formulas', () => {
  const sd = {
    'a.c.weight': tf.tensor2d([[1, 2], [3, 4]]),
    'a.bn.weight': tf.tensor1d([2, 1]),
    'a.bn.bias': tf.tensor1d([0.5, -1]),
    'a.bn.running_mean': tf.tensor1d([1, 0]),
    'a.bn.running_var': tf.tensor1d([4 - 1e-5, 1 - 1e-5]),
    'a.bn.num_batches_tracked': tf.scalar(3),
    'h.bn.weight': tf.tensor1d([2, 1]),
    'h.bn.bias': tf.tensor1d([0, 1]),
    'h.bn.running_mean': tf.tensor1d([1, 1]),
    'h.bn.running_var': tf.tensor1d([1 - 1e-5, 1 - 1e-5]),
    'h.bn.num_batches_tracked': tf.scalar(3),
    'h.l.weight': tf.tensor2d([[1, 1]]),
    'h.l.bias': tf.tensor1d([10]),
  };
  const f = foldBatchNorms(sd);
  expect(Object.keys(f).sort()).toEqual(['a.bias', 'a.weight', 'h.bias', 'h.weight']);
  // scale = [1, 1]: W' = W, b' = beta - mean * scale.
  expect(Array.from(f['a.weight'].dataSync())).toEqual([1, 2, 3, 4]);
  expect(Array.from(f['a.bias'].dataSync()).map((v) => +v.toFixed(5))).toEqual([-0.5, -1]);
  // BN then Linear: scale [2, 1], shift [-2, 0]: W' = [2, 1], b' = 1*-2 + 1*0 + 10 = 8.
  expect(Array.from(f['h.weight'].dataSync()).map((v) => +v.toFixed(5))).toEqual([2, 1]);
  expect(+f['h.bias'].dataSync()[0].toFixed(5)).toBe(8);
  tf.dispose([...Object.values(sd), ...Object.values(f)]);
});
