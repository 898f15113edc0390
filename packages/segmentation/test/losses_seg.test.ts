import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { segAccuracy, segCrossEntropy } from '../src/models';
import { allClose } from './helpers/close';
import { detectionFixtures } from './helpers/paths';

interface LossesSeg {
  pred: number[][][][];
  label: number[][][];
  loss: number;
  grad: number[][][][];
  class_weighted: { class_weight: number[]; loss_weight: number; loss: number };
  accuracy: number[];
  torch_mean_over_valid_for_comparison: number;
}

describe('mmseg 0.13 CrossEntropyLoss / accuracy (losses_seg.json)', () => {
  let d: LossesSeg;
  let logits: tf.Tensor4D;
  let labels: tf.Tensor3D;
  beforeAll(async () => {
    await initBackend({ quiet: true });
    d = JSON.parse(fs.readFileSync(path.join(detectionFixtures, 'losses_seg.json'), 'utf8')) as LossesSeg;
    logits = tf.tidy(() => tf.tensor4d(d.pred).transpose([0, 2, 3, 1]) as tf.Tensor4D);
    labels = tf.tensor3d(d.label, undefined, 'int32');
  });
  afterAll(() => tf.dispose([logits, labels]));

  test('loss with ignore_index 255 is the mean over all pixels, not over valid ones', () => {
    const loss = segCrossEntropy(logits, labels).dataSync()[0];
    expect(Math.abs(loss - d.loss)).toBeLessThan(1e-4);
    expect(Math.abs(loss - d.torch_mean_over_valid_for_comparison)).toBeGreaterThan(0.1);
  });

  test('gradient w.r.t. the logits (zero at ignored pixels)', () => {
    const g = tf.grad((x: tf.Tensor) => segCrossEntropy(x as tf.Tensor4D, labels))(logits);
    const got = tf.tidy(() => g.transpose([0, 3, 1, 2]).dataSync());
    const want = d.grad.flat(3);
    expect(allClose(got, want)).toBe(true);
    g.dispose();
  });

  test('class_weight + loss_weight keep the pixel-count divisor', () => {
    const { class_weight, loss_weight, loss } = d.class_weighted;
    const got = segCrossEntropy(logits, labels, { classWeight: class_weight, lossWeight: loss_weight }).dataSync()[0];
    expect(Math.abs(got - loss)).toBeLessThan(1e-4);
  });

  test('accuracy divides by every pixel, ignored ones included', () => {
    expect(Math.abs(segAccuracy(logits, labels).dataSync()[0] - d.accuracy[0])).toBeLessThan(1e-4);
  });

  test('changing the logits of ignored pixels changes neither loss nor accuracy', () => {
    const ignored = tf.tidy(() => labels.equal(255).expandDims(-1).toFloat());
    const noisy = tf.tidy(() => logits.add(ignored.mul(tf.randomNormal(logits.shape, 0, 10, 'float32', 7))) as tf.Tensor4D);
    expect(segCrossEntropy(noisy, labels).dataSync()[0]).toBeCloseTo(segCrossEntropy(logits, labels).dataSync()[0], 6);
    tf.dispose([ignored, noisy]);
  });
});
