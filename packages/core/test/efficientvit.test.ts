/** EfficientViT: official fixture parity (classifier, fused form, downstream backbone), presets, dense backbone. */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKBONES, CLS_BACKBONES, EfficientViT, EfficientViTBackbone, efficientvitPresetConfig, type EfficientViTPreset } from '@litv2/core';
import { initBackend, checkFixture, formatFixtureReport, efficientvitFixtureHandler } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const fixture = path.resolve(repoRoot, '../shared/reference/backbones/efficientvit_m0.json');

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('efficientvit_m0.json: every intermediate, both logits, fused keys, downstream outputs on both input sizes', async () => {
  const r = await checkFixture(fixture, [efficientvitFixtureHandler], { atol: 1e-4, rtol: 1e-4 });
  if (!r.ok) console.log(formatFixtureReport(r));
  expect(r.ok).toBe(true);
  expect(r.notCompared).toEqual([]);
  const names = r.rows.map((x) => x.name);
  for (const n of ['param_count', 'det_param_count', 'blocks3_out', 'logits', 'logits_fused', 'fused:head.bias', 'det_out2_400x400', 'det_out2_464x256']) expect(names).toContain(n);
}, 120_000);

// Parameter counts: the reference README (exact, 1000 classes); FLOPs: the paper / repository README (79M, 167M,
// 201M, 263M, 299M, 522M), which our analytic multiply-accumulate count reproduces to the rounding shown.
const PRESETS: [EfficientViTPreset, number, number][] = [
  ['EfficientViT_M0', 2_349_436, 79],
  ['EfficientViT_M1', 2_980_560, 167],
  ['EfficientViT_M2', 4_187_554, 201],
  ['EfficientViT_M3', 6_900_722, 263],
  ['EfficientViT_M4', 8_804_228, 299],
  ['EfficientViT_M5', 12_473_772, 522],
];

test.each(PRESETS)('%s: parameters and FLOPs', (name, params, mflops) => {
  const m = CLS_BACKBONES.build({ type: name }, undefined, { path: 'model.backbone' }) as EfficientViT;
  expect(m.numParameters()).toBe(params);
  expect(Math.round(m.flops() / 1e6)).toBe(mflops);
  m.dispose();
});

test('fuse(): same eval logits with every BN folded; dense backbone: three maps at strides 16/32/64, one-window maps must be 7x7', () => {
  const m = new EfficientViT({ ...efficientvitPresetConfig('EfficientViT_M0'), num_classes: 5 });
  tf.tidy(() => {
    for (const [n, p] of m.namedEntries()) {
      if (n.endsWith('running_var')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 2, 'float32', 1));
      if (n.endsWith('bn.weight')) p.variable.assign(tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', 3));
    }
  });
  m.eval();
  const f = m.fuse().eval();
  expect(Object.keys(f.stateDictSpec()).some((k) => k.includes('.bn.'))).toBe(false);
  const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const [a, b] = [m.forward(x), f.forward(x)];
  expect(tf.max(tf.abs(a.sub(b))).dataSync()[0]).toBeLessThan(1e-3);
  tf.dispose([x, a, b]);
  m.dispose();
  f.dispose();

  const bb = BACKBONES.build({ type: 'EfficientViT_M0' }, undefined, { path: 'model.backbone' }) as EfficientViTBackbone;
  expect(bb.outChannels).toEqual([64, 128, 192]);
  const xi = tf.zeros([1, 640, 448, 3]) as tf.Tensor4D;
  const outs = bb.eval().forward(xi);
  expect(outs.map((o) => o.shape)).toEqual([[1, 40, 28, 64], [1, 20, 14, 128], [1, 10, 7, 192]]);
  expect(bb.flops([640, 448]).outSizes).toEqual([[40, 28], [20, 14], [10, 7]]);
  tf.dispose([xi, ...outs]);
  // As the official downstream code: a stage map inside one window that is not the full window has no table.
  const small = tf.zeros([1, 256, 256, 3]) as tf.Tensor4D;
  expect(() => bb.forward(small)).toThrow(/4x4 map does not match its 7x7 bias table/);
  small.dispose();
  bb.dispose();
});

test('downstream init from a classification checkpoint (official init_weights): index tables dropped, 4x4 tables resized, det outputs reproduced', async () => {
  const { Fixture } = await import('@litv2/core/node');
  const { saveCheckpoint } = await import('@litv2/core/node');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const fx = Fixture.load(fixture);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'evit-')), 'm0_cls.ckpt');
  const sd = fx.params();
  await saveCheckpoint(file, { model: sd, meta: {} });
  for (const t of Object.values(sd)) t.dispose();
  // The fixture's downstream module was built with the classification M0 preset (kernels 5,5,5,5).
  const { num_classes: _n, ...m0 } = efficientvitPresetConfig('EfficientViT_M0');
  const bb = BACKBONES.build({ type: 'EfficientViT', ...m0, pretrained: file, frozen_stages: 0 }, undefined, { path: 'model.backbone' }) as EfficientViTBackbone;
  const r = await bb.initWeights();
  expect(r!.missingKeys.filter((k) => !k.endsWith('attention_bias_idxs'))).toEqual([]);
  expect(r!.unexpectedKeys.every((k) => k.startsWith('head.'))).toBe(true);
  bb.train();
  // Official train(): BatchNorms stay in eval mode; frozen_stages 0 freezes the patch embedding.
  expect(bb.namedModules().filter(([n]) => n.endsWith('.bn')).every(([, m]) => !m.training)).toBe(true);
  expect(bb.namedParameters().some(([n]) => n.startsWith('patch_embed'))).toBe(false);
  const x = tf.tidy(() => fx.tensor('det_x_464x256').transpose([0, 2, 3, 1]) as tf.Tensor4D);
  const outs = bb.forward(x);
  const ref = fx.array('det_out0_464x256');
  const ours = outs[0].transpose([0, 3, 1, 2]).dataSync();
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ours[i] - ref[i]));
  expect(maxAbs).toBeLessThan(1e-3);
  tf.dispose([x, ...outs]);
  bb.dispose();
});
