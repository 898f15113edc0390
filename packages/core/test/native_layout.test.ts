import * as tf from '@tensorflow/tfjs';
import { describeNative, expectSame, rand, setupNative, weightedSum } from './native_helpers';

describeNative('native layout kernels vs tfjs cpu', () => {
  setupNative();

  test.each([
    [[3, 4], [1, 0]], [[2, 3, 4], [0, 2, 1]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[2, 3, 4, 5], [3, 1, 2, 0]],
    [[8, 49, 12, 32], [0, 2, 1, 3]], [[2, 40, 36], [0, 2, 1]], [[5, 1, 7], [2, 1, 0]], [[2, 3, 4, 5, 6], [4, 0, 3, 1, 2]],
  ] as [number[], number[]][])('transpose %j perm %j: float32, int32, bool and gradient', (shape, perm) => {
    const x = rand(shape);
    expectSame(() => tf.transpose(x, perm), 0);
    expectSame(() => tf.transpose(x.mul(10).toInt(), perm), 0);
    expectSame(() => tf.transpose(x.greater(0), perm), 0);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.transpose(a, perm)))(x), 0);
  });

  test('slice (contiguous, strided, int32) and its gradient (pad)', () => {
    const x = rand([4, 6, 5, 7]);
    for (const [b, s] of [[[0, 0, 0, 0], [2, 6, 5, 7]], [[1, 2, 0, 3], [2, 3, 5, 4]], [[0, 0, 0, 2], [-1, -1, -1, 3]], [[3, 5, 4, 6], [1, 1, 1, 1]]] as [number[], number[]][]) {
      expectSame(() => tf.slice(x, b, s), 0);
      expectSame(() => tf.slice(x.mul(10).toInt(), b, s), 0);
      expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.slice(a, b, s)))(x), 0);
    }
    expectSame(() => tf.split(x, [2, 3, 2], 3), 0);
    expectSame(() => tf.split(x, 2, 0), 0);
    expectSame(() => tf.split(x.toInt(), [1, -1], 1), 0);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.split(a, [3, 4], -1)[1]))(x), 0);
  });

  test('pad with constant values, float and int', () => {
    const x = rand([2, 3, 4, 5]);
    expectSame(() => tf.pad(x, [[0, 0], [1, 2], [0, 3], [0, 0]]), 0);
    expectSame(() => tf.pad(x, [[1, 0], [0, 0], [2, 2], [1, 1]], -3.5), 0);
    expectSame(() => tf.pad(x.mul(10).toInt(), [[0, 1], [1, 0], [0, 0], [2, 0]], 7), 0);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.pad(a, [[0, 0], [1, 2], [0, 3], [0, 0]])))(x), 0);
  });

  test('concat on each axis with an empty input, and its gradient', () => {
    const a = rand([2, 3, 4]), b = rand([2, 3, 1]), c = rand([2, 3, 0]), d = rand([2, 5, 4]), e = rand([1, 3, 4]);
    expectSame(() => tf.concat([a, b, c], 2), 0);
    expectSame(() => tf.concat([a, d], 1), 0);
    expectSame(() => tf.concat([a, e, a], 0), 0);
    expectSame(() => tf.concat([a.toInt(), a.toInt()], -1), 0);
    expectSame(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => weightedSum(tf.concat([x, y], 2)))([a, b]), 0);
    expectSame(() => tf.stack([a, a, a], 1), 0);
  });

  test('gather on several axes, and its gradient (UnsortedSegmentSum)', () => {
    const x = rand([5, 6, 7]);
    const idx = tf.tensor1d([4, 0, 0, 2, 3, 4, 1], 'int32');
    for (const axis of [0, 1, 2]) {
      const i = axis === 0 ? idx : tf.tensor1d([5, 1, 1, 0, 3], 'int32');
      expectSame(() => tf.gather(x, i, axis), 0);
      expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.gather(a, i, axis)))(x), 1e-6);
    }
    const i2 = tf.tensor2d([[1, 2], [0, 4]], [2, 2], 'int32');
    expectSame(() => tf.gather(x, i2, 0), 0);
    expectSame(() => tf.gather(x.toInt(), i2, 1), 0);
  });

  test('gather with an out-of-range index throws', () => {
    expect(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([0, 3], 'int32'))).toThrow(/index value 3/);
  });

  test('unsortedSegmentSum with 1-D and 2-D segment ids', () => {
    const x = rand([6, 4, 3]);
    expectSame(() => tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, 1, 0, 4], 'int32'), 5), 1e-6);
    const y = rand([4, 3]);
    expectSame(() => tf.unsortedSegmentSum(y, tf.tensor1d([1, 1, 0, 1], 'int32'), 2), 1e-6);
    expectSame(() => tf.mul(y, tf.greater(y, 0)), 0); // float32 tensor backed by a bool array after Cast
  });
});
