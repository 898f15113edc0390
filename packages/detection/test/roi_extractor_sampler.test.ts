import * as tf from '@tensorflow/tfjs';
import { seedEverything } from '@litv2/core';
import { Fixture, initBackend } from '@litv2/core/node';
import { mapRoiLevels, RandomSampler, SingleRoIExtractor } from '../src';
import { detRef, expectClose, expectExact } from './helpers';
import { nchwToNhwc } from '../src/testing/fixture';

let fx: Fixture;
let mr: Fixture;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  fx = Fixture.load(detRef('roi_align.json'));
  mr = Fixture.load(detRef('mask_rcnn_tiny.json'));
});

const nhwc = (f: Fixture, name: string): tf.Tensor4D => {
  const { shape, data } = f.get(name);
  const [n, c, h, w] = shape;
  return tf.tensor4d(nchwToNhwc(data, shape), [n, h, w, c]);
};

test('map_roi_levels matches mmdet at and around the 112/224/448 thresholds', () => {
  expectExact(mapRoiLevels(fx.get('levels.rois').data, 4), fx.get('levels.target_lvls').data, 'levels');
  expectExact(mapRoiLevels(fx.get('extractor.rois').data, 4), fx.get('extractor.target_lvls').data, 'extractor levels');
  // The 954 test rois of the Mask R-CNN fixture.
  expectExact(mapRoiLevels(mr.get('test.rois').data, 4), mr.get('test.roi_levels').data, 'mask_rcnn_tiny levels');
});

test('SingleRoIExtractor (7 and 14) on a 4-level pyramid matches mmdet, gradients reach every used level, tidy', () => {
  const feats = [0, 1, 2, 3].map((l) => nhwc(fx, `extractor.feat${l}`));
  const rois = fx.get('extractor.rois').data;
  const before = tf.memory().numTensors;
  for (const size of [7, 14]) {
    const ex = new SingleRoIExtractor({ roi_layer: { type: 'RoIAlign', output_size: size, sampling_ratio: 0 }, out_channels: 2, featmap_strides: [4, 8, 16, 32] });
    const out = ex.forward(feats, rois);
    const want = fx.get(`extractor.out${size}`);
    const got = tf.tidy(() => tf.transpose(out, [0, 3, 1, 2]).dataSync());
    expectClose(got, want.data, `out${size}`);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(ex.forward(xs as tf.Tensor4D[], rois)))(feats);
    const levels = new Set(mapRoiLevels(rois, 4));
    grads.forEach((g, l) => {
      const s = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
      if (levels.has(l)) expect(s).toBeGreaterThan(0);
      else expect(s).toBe(0);
    });
    tf.dispose([out, ...grads]);
  }
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose(feats);
});

test('RandomSampler: sizes, pos fraction, gts first, sorted, seeded and reproducible', () => {
  const gtInds = new Int32Array(1000);
  for (let i = 0; i < 1000; i++) gtInds[i] = i % 50 === 0 ? (i % 3) + 1 : i % 7 === 0 ? -1 : 0;
  const sampler = new RandomSampler({ num: 512, pos_fraction: 0.25, add_gt_as_proposals: true });
  seedEverything(3);
  const a = sampler.sample(gtInds, 3);
  seedEverything(3);
  const b = sampler.sample(gtInds, 3);
  expect(Array.from(a.negInds)).toEqual(Array.from(b.negInds));
  // 3 gts + 20 positive proposals, all kept (fewer than 128); the rest negatives.
  expect(a.posInds.length).toBe(23);
  expect(a.negInds.length).toBe(512 - 23);
  expect(Array.from(a.posInds.slice(0, 3))).toEqual([0, 1, 2]);
  expect(Array.from(a.posIsGt.slice(0, 4))).toEqual([1, 1, 1, 0]);
  expect(Array.from(a.posAssignedGtInds.slice(0, 3))).toEqual([0, 1, 2]);
  for (const i of a.negInds) expect(gtInds[i - 3]).toBe(0);
  for (let k = 1; k < a.negInds.length; k++) expect(a.negInds[k]).toBeGreaterThan(a.negInds[k - 1]);
  seedEverything(4);
  const c = sampler.sample(gtInds, 3);
  expect(Array.from(c.negInds)).not.toEqual(Array.from(a.negInds));
  // RPN setting: no gts added, positives capped at num·pos_fraction.
  const many = Int32Array.from({ length: 600 }, (_, i) => (i < 300 ? 1 : 0));
  const rpn = new RandomSampler({ num: 256, pos_fraction: 0.5, add_gt_as_proposals: false }).sample(many, 1);
  expect(rpn.posInds.length).toBe(128);
  expect(rpn.negInds.length).toBe(128);
  expect(rpn.numGtsAdded).toBe(0);
  expect(() => new RandomSampler({ num: 0, pos_fraction: 0.5 }, { path: 'model.train_cfg.rpn.sampler' })).toThrow(/num/);
});
