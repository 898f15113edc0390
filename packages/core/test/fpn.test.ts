import * as tf from '@tensorflow/tfjs';
import { ConfigError, FPN, NECKS, nms, batchedNms } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const feats = (sizes: [number, number, number][]) => sizes.map(([h, w, c]) => tf.randomNormal([1, h, w, c], 0, 1, 'float32', 7) as tf.Tensor4D);

test('RetinaNet-style FPN: names, shapes, P6 on the C5 input, P7 without ReLU', () => {
  const fpn = NECKS.build({ type: 'FPN', in_channels: [8, 16, 24, 32], out_channels: 12, start_level: 1, add_extra_convs: 'on_input', num_outs: 5 }) as FPN;
  expect(Object.keys(fpn.stateDictSpec())).toEqual([
    ...[0, 1, 2].flatMap((i) => [`lateral_convs.${i}.conv.weight`, `lateral_convs.${i}.conv.bias`]),
    ...[0, 1, 2, 3, 4].flatMap((i) => [`fpn_convs.${i}.conv.weight`, `fpn_convs.${i}.conv.bias`]),
  ]);
  expect(fpn.stateDictSpec()['fpn_convs.3.conv.weight'].shape).toEqual([12, 32, 3, 3]);
  const x = feats([[25, 33, 8], [13, 17, 16], [7, 9, 24], [4, 5, 32]]);
  const outs = fpn.forward(x);
  expect(outs.map((o) => o.shape)).toEqual([[1, 13, 17, 12], [1, 7, 9, 12], [1, 4, 5, 12], [1, 2, 3, 12], [1, 1, 2, 12]]);
  // P7 = conv(P6) with no ReLU in between (relu_before_extra_convs false).
  const p7 = tf.tidy(() => fpn.fpnConvs.at(4).forward(outs[3]));
  expect(tf.max(tf.abs(p7.sub(outs[4]))).dataSync()[0]).toBe(0);
  // Top-down: P5 = fpn_conv(lateral(C5)); P4 adds the nearest-upsampled lateral of C5 at P4's exact size.
  const p5 = tf.tidy(() => fpn.fpnConvs.at(2).forward(fpn.lateralConvs.at(2).forward(x[3])));
  expect(tf.max(tf.abs(p5.sub(outs[2]))).dataSync()[0]).toBe(0);
  // xavier-uniform init: bound sqrt(6 / (fan_in + fan_out)), zero bias.
  const w = fpn.lateralConvs.at(0).conv.weight;
  expect(tf.max(tf.abs(w)).dataSync()[0]).toBeLessThanOrEqual(Math.sqrt(6 / (16 + 12)));
  expect(tf.max(tf.abs(fpn.lateralConvs.at(0).conv.bias!)).dataSync()[0]).toBe(0);
  tf.dispose([...x, ...outs, p7, p5]);
  fpn.dispose();
});

test('extra-level variants: max-pool, on_output with ReLU, on_lateral, end_level', () => {
  const x = feats([[16, 16, 4], [8, 8, 4], [4, 4, 4], [2, 2, 4]]);
  const pool = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 5 });
  const po = pool.forward(x);
  expect(po.map((o) => o.shape[1])).toEqual([16, 8, 4, 2, 1]);
  // max_pool2d(x, 1, stride 2) keeps every second pixel.
  expect(tf.max(tf.abs(po[4].sub(po[3].slice([0, 0, 0, 0], [1, 1, 1, 6])))).dataSync()[0]).toBe(0);
  const onOut = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 6, add_extra_convs: 'on_output', relu_before_extra_convs: true });
  const oo = onOut.forward(x);
  const p6 = tf.tidy(() => onOut.fpnConvs.at(4).forward(oo[3]));
  const p7 = tf.tidy(() => onOut.fpnConvs.at(5).forward(tf.relu(oo[4])));
  expect(tf.max(tf.abs(p6.sub(oo[4]))).dataSync()[0]).toBe(0);
  expect(tf.max(tf.abs(p7.sub(oo[5]))).dataSync()[0]).toBe(0);
  const legacy = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 5, add_extra_convs: true });
  expect(legacy.extraSource).toBe('on_input');
  const lat = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 5, add_extra_convs: 'on_lateral' });
  expect(lat.forward(x).length).toBe(5);
  const cut = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 2, end_level: 2 });
  expect(cut.forward(x).map((o) => o.shape[1])).toEqual([16, 8]);
  const gn = new FPN({ in_channels: [4, 4, 4, 4], out_channels: 6, num_outs: 4, norm_cfg: { type: 'GN', num_groups: 2 } });
  expect(Object.keys(gn.stateDictSpec())).toContain('fpn_convs.0.gn.weight');
  expect(Object.keys(gn.stateDictSpec())).not.toContain('fpn_convs.0.conv.bias');
});

test('FPN config errors name the key', () => {
  expect(() => NECKS.build({ type: 'FPN', in_channels: [4, 4], out_channels: 4, num_outs: 1 }, undefined, { file: 'x.yaml', path: 'model.neck' })).toThrow(/x\.yaml: model\.neck\.num_outs/);
  expect(() => NECKS.build({ type: 'FPN', in_channels: [4], out_channels: 4, num_outs: 2, add_extra_convs: 'on_top' }, undefined, { path: 'model.neck' })).toThrow(ConfigError);
  expect(() => NECKS.build({ type: 'FPN', out_channels: 4, num_outs: 2 }, undefined, { path: 'model.neck' })).toThrow(/model\.neck\.in_channels/);
  expect(() => NECKS.build({ type: 'FPN', in_channels: [4], out_channels: 4, num_outs: 1, upsample: {} }, undefined, { path: 'model.neck' })).toThrow(/unknown key 'upsample'/);
});

test('nms: strict IoU comparison, descending order, ties by index', () => {
  // Two boxes with IoU exactly 0.5: kept both at thr 0.5 (suppression needs IoU > thr), one at 0.49.
  const boxes = Float32Array.from([0, 0, 10, 10, 0, 0, 10, 5, 20, 20, 30, 30]);
  const scores = Float32Array.from([0.9, 0.8, 0.95]);
  expect(Array.from(nms(boxes, scores, 0.5))).toEqual([2, 0, 1]);
  expect(Array.from(nms(boxes, scores, 0.49))).toEqual([2, 0]);
  expect(Array.from(nms(boxes, Float32Array.from([0.5, 0.5, 0.5]), 0.3))).toEqual([0, 2]);
  // Class-wise: the same overlapping boxes in different classes both survive.
  expect(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 1, 0]), { iou_threshold: 0.3 }))).toEqual([2, 0, 1]);
  expect(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 0, 0]), { iou_threshold: 0.3 }))).toEqual([2, 0]);
  // The per-class split path gives the same answer.
  expect(Array.from(batchedNms(boxes, scores, Int32Array.from([0, 1, 0]), { iou_threshold: 0.3, split_thr: 1 }))).toEqual([2, 0, 1]);
  expect(nms(new Float32Array(0), new Float32Array(0), 0.5).length).toBe(0);
});
