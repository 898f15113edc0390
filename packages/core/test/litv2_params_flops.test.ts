import * as path from 'node:path';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { LITv2, LITv2Backbone, LITV2_CLS_DEFAULTS, litv2Preset, litv2Flops, hiloFlops, validateLITv2ClsConfig, BACKBONES, type ConfigNode, type LITv2Size } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const shapesFile = path.resolve(repoRoot, '../shared/reference/litv2/state_dict_shapes.json');
interface ModelShapes { params: number; flops_official_224?: number; keys: Record<string, [number[], string]> }
const reference = JSON.parse(fs.readFileSync(shapesFile, 'utf8')).models as Record<string, ModelShapes>;

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const SPEC_PARAMS = { s: 27_844_000, m: 48_830_368, b: 86_520_704 };
const SPEC_DET = { s: 27_076_152, m: 48_062_520, b: 85_497_240 };
const SPEC_SEG = { s: 27_076_344, m: 48_062_712, b: 85_497_496 };
const SPEC_FLOPS_WS2 = { s: 3_734_401_596, m: 7_479_237_180, b: 13_193_561_148 };
// ws = 4 at 224 (stage-3 map 14x14 counted as padded to 16x16). No published value: cross-checked with an
// independent Python transcription of the official flops() methods (3.776 G / 7.605 G / 13.415 G).
const FLOPS_WS4 = { s: 3_776_251_452, m: 7_604_786_748, b: 13_414_938_684 };

function expectSameSpec(spec: Record<string, { shape: number[]; dtype: string }>, ref: ModelShapes) {
  expect(Object.keys(spec)).toEqual(Object.keys(ref.keys));
  for (const [k, [shape, dtype]] of Object.entries(ref.keys)) {
    expect([k, spec[k].shape]).toEqual([k, shape]);
    expect([k, spec[k].dtype]).toEqual([k, dtype]);
  }
}

describe.each(['s', 'm', 'b'] as LITv2Size[])('LITv2-%s', (size) => {
  test('classification: every official key and shape, parameter count, FLOPs (ws 2 and 4)', () => {
    for (const ws of [2, 4]) {
      const m = new LITv2({ ...litv2Preset(size, { ws }) }, { init: false });
      if (ws === 2) expectSameSpec(m.stateDictSpec(), reference[`litv2_${size}_cls`]);
      expect(m.numParameters()).toBe(SPEC_PARAMS[size]);
      expect(m.numParameters()).toBe(reference[`litv2_${size}_cls`].params);
      expect(m.flops()).toBe(ws === 2 ? SPEC_FLOPS_WS2[size] : FLOPS_WS4[size]);
      if (ws === 2) expect(m.flops()).toBe(reference[`litv2_${size}_cls`].flops_official_224);
      m.dispose();
    }
  });

  test('det and seg backbones: keys, shapes, counts', () => {
    for (const variant of ['det', 'seg'] as const) {
      const bb = new LITv2Backbone({ ...litv2Preset(size), variant }, { init: false });
      expectSameSpec(bb.stateDictSpec(), reference[`litv2_${size}_${variant}_backbone`]);
      expect(bb.numParameters()).toBe(variant === 'det' ? SPEC_DET[size] : SPEC_SEG[size]);
      bb.dispose();
    }
  });
});

test('README GFLOPs for the alpha sweep of LITv2-S (SPEC §5)', () => {
  const s = litv2Preset('s');
  const g = (alpha: number) => litv2Flops({ imgSize: 224, embedDim: s.embed_dim, depths: s.depths, numHeads: s.num_heads, alpha, localWs: s.local_ws }).total / 1e9;
  expect(g(0).toFixed(3)).toBe('3.965');
  expect(g(0.5).toFixed(3)).toBe('3.769');
  expect(g(1).toFixed(3)).toBe('3.746');
  expect(litv2Flops({ imgSize: 384, embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], alpha: 0.9, localWs: [0, 0, 2, 1] }).total).toBe(39_709_486_528);
  // README HiLo example: dim 384, 12 heads, s 2, alpha 0.5, 14x14.
  expect(hiloFlops({ dim: 384, hDim: 192, lDim: 192, windowSize: 2 }, 14, 14)).toBe(83_467_776);
});

test('dense backbone: output shapes/strides, det has no norm0, padding of odd sizes', () => {
  const bb = new LITv2Backbone({ embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], alpha: 0.9, local_ws: [0, 0, 4, 1], variant: 'det' }).eval();
  expect(Object.keys(bb.stateDictSpec()).filter((k) => /^norm\d/.test(k))).toEqual(['norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias', 'norm3.weight', 'norm3.bias']);
  expect(bb.outChannels).toEqual([16, 32, 64, 128]);
  expect(bb.outStrides).toEqual([4, 8, 16, 32]);
  const before = tf.memory().numTensors;
  const outs = bb.forward(tf.zeros([1, 90, 118, 3]) as tf.Tensor4D);
  expect(outs.map((o) => o.shape)).toEqual([[1, 23, 30, 16], [1, 11, 15, 32], [1, 5, 7, 64], [1, 2, 3, 128]]);
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(before + 1); // only the (undisposed) input remains
  bb.dispose();
});

test('frozen_stages freezes patch embed and early stages and keeps them in eval mode', () => {
  const bb = new LITv2Backbone({ embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], frozen_stages: 2 });
  bb.train();
  const frozen = bb.namedEntries().filter(([, p]) => !p.buffer && !p.variable.trainable).map(([n]) => n);
  expect(frozen.some((n) => n.startsWith('patch_embed.'))).toBe(true);
  expect(frozen.some((n) => n.startsWith('layers.0.'))).toBe(true);
  expect(frozen.some((n) => n.startsWith('layers.1.'))).toBe(false);
  expect(bb.layers.at(0).downsample!.norm_layer.training).toBe(false);
  expect(bb.layers.at(1).downsample!.norm_layer.training).toBe(true);
  bb.dispose();
});

test('registry builds the dense backbone from mmdet-style keys', () => {
  const bb = BACKBONES.build({ type: 'LITv2', embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], alpha: 0.9, local_ws: [0, 0, 2, 1], variant: 'seg', qk_scale: null, window_size: 7 }, undefined) as LITv2Backbone;
  expect(bb).toBeInstanceOf(LITv2Backbone);
  expect(Object.keys(bb.stateDictSpec()).filter((k) => /^norm\d/.test(k)).length).toBe(8);
  bb.dispose();
});

test('registry reports bad config keys and values with the dotted key', () => {
  expect(() => BACKBONES.build({ type: 'LITv2', depth: [2, 2, 6, 2] }, undefined, { file: 'x.yaml', path: 'model.backbone' })).toThrow(/x\.yaml: model\.backbone\.depth: unknown key 'depth'/);
  expect(() => BACKBONES.build({ type: 'LITv2', variant: 'cls' }, undefined, { file: 'x.yaml', path: 'model.backbone' })).toThrow(/model\.backbone\.variant/);
  expect(() => BACKBONES.build({ type: 'LITv2', num_heads: [3, 6] }, undefined, { file: 'x.yaml', path: 'model.backbone' })).toThrow(/num_heads/);
});

test('drop path rates are linspace(0, rate, total blocks) across stages', () => {
  const m = new LITv2({ embed_dim: 8, depths: [1, 2, 1, 1], num_heads: [1, 2, 4, 8], drop_path_rate: 0.4, num_classes: 3, img_size: 32 });
  const rates = m.layers.items.flatMap((l) => l.blocks.items.map((b) => b.dropPath.p));
  expect(rates.map((r) => +r.toFixed(6))).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
  m.dispose();
});

test('initialisation follows SPEC §2.6', () => {
  const m = new LITv2({ embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], img_size: 32, num_classes: 10 });
  const sd = m.stateDict();
  const std = (k: string) => Math.sqrt(tf.moments(sd[k]).variance.dataSync()[0]);
  const absMax = (k: string) => tf.max(tf.abs(sd[k])).dataSync()[0];
  expect(std('layers.0.blocks.0.mlp.fc1.weight')).toBeCloseTo(0.02, 2);
  expect(std('layers.2.blocks.0.attn.l_q.weight')).toBeCloseTo(0.02, 2);
  expect(absMax('layers.2.blocks.0.attn.l_q.bias') + absMax('head.bias') + absMax('layers.0.blocks.0.mlp.dwconv.dwconv.bias')).toBe(0);
  expect(std('layers.1.blocks.0.mlp.dwconv.dwconv.weight')).toBeGreaterThan(0.4); // sqrt(2/9) = 0.471
  expect(std('layers.1.blocks.0.mlp.dwconv.dwconv.weight')).toBeLessThan(0.55);
  expect(absMax('layers.0.downsample.dconv.conv_offset.weight') + absMax('layers.0.downsample.dconv.conv_offset.bias')).toBe(0);
  // kaiming-uniform(a=√5): |w| <= 1/sqrt(fan_in) = 1/sqrt(16·4)
  expect(absMax('layers.0.downsample.dconv.weight')).toBeLessThanOrEqual(1 / 8 + 1e-7);
  expect(tf.min(sd['norm.weight']).dataSync()[0]).toBe(1);
  expect(tf.max(sd['layers.0.downsample.norm_layer.running_var']).dataSync()[0]).toBe(1);
  tf.dispose(Object.values(sd));
  m.dispose();
});

test('forward passes leave no tensors behind (classifier, backbone, training-mode gradients)', () => {
  const m = new LITv2({ embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], img_size: 32, num_classes: 4, drop_path_rate: 0.1 });
  const x = tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D;
  m.eval().forward(x).dispose();
  const before = tf.memory().numTensors;
  m.forward(x).dispose();
  expect(tf.memory().numTensors).toBe(before);
  // Training step: BatchNorm batch stats + DropPath + gradients through DTM offsets.
  m.train();
  const { value, grads } = tf.variableGrads(() => tf.mean(m.forward(x)) as tf.Scalar);
  const offsetGrad = grads[m.layers.at(0).downsample!.dconv.conv_offset.weight.name];
  expect(offsetGrad).toBeDefined();
  value.dispose();
  tf.dispose(Object.values(grads));
  expect(tf.memory().numTensors).toBe(before);
  m.dispose();
  const bb = new LITv2Backbone({ embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], variant: 'seg' }).eval();
  tf.dispose(bb.forward(tf.zeros([1, 37, 45, 3]) as tf.Tensor4D));
  const b2 = tf.memory().numTensors;
  tf.dispose(bb.forward(x));
  expect(tf.memory().numTensors).toBe(b2);
  bb.dispose();
});

test('the dense backbone reports its FLOPs and the sizes of the maps it really returns, at any input size', () => {
  for (const variant of ['det', 'seg'] as const) {
    const bb = new LITv2Backbone({ embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], alpha: 0.5, local_ws: [0, 0, 2, 1], variant });
    for (const [h, w] of [[64, 64], [75, 101]] as [number, number][]) {
      const outs = bb.forward(tf.zeros([1, h, w, 3]) as tf.Tensor4D);
      const f = bb.flops([h, w]);
      expect(f.outSizes).toEqual(outs.map((o) => [o.shape[1], o.shape[2]]));
      tf.dispose(outs);
      // Classification count without classifier and final norm, plus the variant's output norms.
      const cls = litv2Flops({ imgSize: [h, w], embedDim: 16, depths: [1, 1, 1, 1], numHeads: [1, 2, 4, 8], alpha: 0.5, localWs: [0, 0, 2, 1], numClasses: 0 });
      const norms = f.outSizes.reduce((a, [oh, ow], i) => a + (variant === 'det' && i === 0 ? 0 : 16 * 2 ** i * oh * ow), 0);
      expect(f.total).toBe(cls.total - cls.head + norms);
    }
    bb.dispose();
  }
});

test('validateLITv2ClsConfig (for classification registries) accepts the defaults and names a mistyped key', () => {
  const origin = { file: 'cls.yaml', path: 'model.backbone' };
  expect(validateLITv2ClsConfig({ ...LITV2_CLS_DEFAULTS } as unknown as ConfigNode, origin).num_classes).toBe(1000);
  expect(() => validateLITv2ClsConfig({ ...LITV2_CLS_DEFAULTS, depths: [2, 'x'] } as unknown as ConfigNode, origin)).toThrow(/cls\.yaml: model\.backbone\.depths: expected a list of integers/);
  expect(() => validateLITv2ClsConfig({ ...LITV2_CLS_DEFAULTS, img_size: '224' } as unknown as ConfigNode, origin)).toThrow(/model\.backbone\.img_size: expected a number/);
});
