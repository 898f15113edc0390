import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { roiAlign } from '@litv2/core';
import { Fixture, initBackend } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const file = path.resolve(repoRoot, '../shared/reference/detection/roi_align.json');

interface RoiCase { tag: string; output_size: number; spatial_scale: number; sampling_ratio: number }

let fx: Fixture;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  fx = Fixture.load(file);
});

const nchw = (name: string) => {
  const { shape, data } = fx.get(name);
  return tf.tensor4d(data, shape as [number, number, number, number]);
};

const maxErr = (a: tf.Tensor, b: tf.Tensor, atol: number, rtol: number) => {
  // Largest |a - b| - rtol·|b|; passes when it is at most atol.
  return tf.tidy(() => tf.max(tf.sub(tf.abs(tf.sub(a, b)), tf.mul(rtol, tf.abs(b)))).dataSync()[0]);
};

test('fixture lists the expected cases', () => {
  const cases = fx.meta.roi_align_cases as RoiCase[];
  expect(cases.length).toBe(9);
  expect(cases.some((c) => c.sampling_ratio === 2)).toBe(true);
});

test('every mmcv RoIAlign case: output and feature gradient match (1e-4)', () => {
  const cases = fx.meta.roi_align_cases as RoiCase[];
  const feat = tf.transpose(nchw('feat'), [0, 2, 3, 1]) as tf.Tensor4D; // NCHW -> NHWC
  const rois = fx.get('rois').data;
  const before = tf.memory().numTensors;
  for (const c of cases) {
    const opts = { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio };
    const want = nchw(`${c.tag}.output`);
    const [R, C, oh, ow] = want.shape;
    // g over the NCHW output's row-major index, moved to our NHWC layout.
    const gIdx = Float32Array.from({ length: R * C * oh * ow }, (_, i) => (((i * 7) % 13) - 6) / 4);
    const g = tf.tidy(() => tf.transpose(tf.tensor4d(gIdx, [R, C, oh, ow]), [0, 2, 3, 1]));
    const out = roiAlign(feat, rois, opts);
    expect(out.shape).toEqual([R, oh, ow, C]);
    const outNchw = tf.transpose(out, [0, 3, 1, 2]);
    expect({ tag: c.tag, err: maxErr(outNchw, want, 1e-4, 1e-4) <= 1e-4 }).toEqual({ tag: c.tag, err: true });
    const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(roiAlign(f as tf.Tensor4D, rois, opts), g)))(feat);
    const gradNchw = tf.transpose(grad, [0, 3, 1, 2]);
    const wantGrad = nchw(`${c.tag}.grad_feat`);
    expect({ tag: c.tag, err: maxErr(gradNchw, wantGrad, 1e-4, 1e-4) <= 1e-4 }).toEqual({ tag: c.tag, err: true });
    // The fixture's zero-size roi (index 6) gives 0 with adaptive sampling (a fixed ratio still samples its point).
    if (c.sampling_ratio === 0) expect(tf.tidy(() => tf.max(tf.abs(out.slice([6, 0, 0, 0], [1, oh, ow, C]))).dataSync()[0])).toBe(0);
    expect(tf.tidy(() => tf.max(tf.abs(out)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([want, g, out, outNchw, grad, gradNchw, wantGrad]);
  }
  expect(tf.memory().numTensors).toBe(before);
  feat.dispose();
});

test('bad input names the field', () => {
  const feat = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  expect(() => roiAlign(feat, new Float32Array([1, 0, 0, 2, 2]), { outputSize: 2, spatialScale: 1 })).toThrow(/rois\[0\] batch index/);
  expect(() => roiAlign(feat, new Float32Array([0, 3, 0, 2, 2]), { outputSize: 2, spatialScale: 1 })).toThrow(/rois\[0\] has negative width/);
  expect(() => roiAlign(feat, new Float32Array([0, 0, 0, 2]), { outputSize: 2, spatialScale: 1 })).toThrow(/multiple of 5/);
  expect(roiAlign(feat, new Float32Array(0), { outputSize: 2, spatialScale: 1 }).shape).toEqual([0, 2, 2, 2]);
  feat.dispose();
});
