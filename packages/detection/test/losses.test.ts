import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { CrossEntropyLoss, type Reduction } from '@litv2/core';
import { FocalLoss, L1Loss, SmoothL1Loss } from '@litv2/detection';
import { readJsonFixture } from '@litv2/detection/testing/fixture';
import { detRef, expectClose, flat } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

interface LossFixture {
  logits: number[][];
  labels: number[];
  label_weights: number[];
  num_pos: number;
  focal: Record<string, { kwargs: { avg_factor?: number; reduction_override?: Reduction }; loss: number | number[][]; grad_logits: number[][] | null }>;
  bbox_pred: number[][];
  bbox_targets: number[][];
  bbox_weights: number[][];
  regression: Record<string, { loss: number; grad_pred: number[][]; loss_no_weight_mean: number }>;
  softmax_ce_bbox_head: { cls_score: number[][]; labels: number[]; label_weights: number[]; avg_factor: number; loss: number; grad: number[][]; loss_no_weight: number };
}
const fx = readJsonFixture<LossFixture>(detRef('losses.json'));

/** Loss value and gradient w.r.t. the prediction. */
function valueAndGrad(x: number[][], f: (p: tf.Tensor2D) => tf.Tensor): { value: Float32Array; grad: Float32Array } {
  return tf.tidy(() => {
    const p = tf.tensor2d(x);
    const value = f(p).dataSync() as Float32Array;
    const grad = tf.grad((q: tf.Tensor) => f(q as tf.Tensor2D).sum())(p).dataSync() as Float32Array;
    return { value, grad };
  });
}

test.each(Object.keys(fx.focal))('sigmoid focal loss (%s) value and gradient', (key) => {
  const c = fx.focal[key];
  const loss = new FocalLoss({ use_sigmoid: true, gamma: 2, alpha: 0.25, loss_weight: 1 });
  const labels = tf.tensor1d(fx.labels, 'int32');
  const w = tf.tensor1d(fx.label_weights);
  const { value, grad } = valueAndGrad(fx.logits, (p) => loss.forward(p, labels, w, c.kwargs.avg_factor, c.kwargs.reduction_override));
  expectClose(value, flat(c.loss), `focal ${key} loss`, 1e-5, 1e-5);
  if (c.grad_logits) expectClose(grad, flat(c.grad_logits), `focal ${key} grad`, 1e-6, 1e-4);
  tf.dispose([labels, w]);
});

test.each(Object.keys(fx.regression))('%s with weights and avg_factor: value and gradient', (key) => {
  const c = fx.regression[key];
  const loss = key === 'L1Loss' ? new L1Loss() : new SmoothL1Loss({ beta: key.endsWith('1/9') ? 1 / 9 : 1 });
  const target = tf.tensor2d(fx.bbox_targets);
  const w = tf.tensor2d(fx.bbox_weights);
  const { value, grad } = valueAndGrad(fx.bbox_pred, (p) => loss.forward(p, target, w, fx.num_pos));
  expectClose(value, [c.loss], `${key} loss`, 1e-5, 1e-5);
  expectClose(grad, flat(c.grad_pred), `${key} grad`, 1e-6, 1e-4);
  const plain = valueAndGrad(fx.bbox_pred, (p) => loss.forward(p, target, null));
  expectClose(plain.value, [c.loss_no_weight_mean], `${key} unweighted mean`, 1e-5, 1e-5);
  tf.dispose([target, w]);
});

test('softmax CE as BBoxHead.loss uses it (avg_factor = #label_weights > 0)', () => {
  const c = fx.softmax_ce_bbox_head;
  const loss = new CrossEntropyLoss();
  const labels = tf.tensor1d(c.labels, 'int32');
  const w = tf.tensor1d(c.label_weights);
  const avg = Math.max(c.label_weights.filter((v) => v > 0).length, 1);
  expect(avg).toBe(c.avg_factor);
  const { value, grad } = valueAndGrad(c.cls_score, (p) => loss.forward(p, labels, w, avg));
  expectClose(value, [c.loss], 'ce loss', 1e-5, 1e-5);
  expectClose(grad, flat(c.grad), 'ce grad', 1e-6, 1e-4);
  const plain = valueAndGrad(c.cls_score, (p) => loss.forward(p, labels));
  expectClose(plain.value, [c.loss_no_weight], 'ce unweighted', 1e-5, 1e-5);
  tf.dispose([labels, w]);
});

test('an empty regression target gives a zero loss still connected to the prediction', () => {
  const p = tf.zeros([0, 4]);
  expect(new L1Loss().forward(p, tf.zeros([0, 4])).dataSync()[0]).toBe(0);
  expect(() => new SmoothL1Loss({ beta: 0 })).toThrow(/beta/);
});
