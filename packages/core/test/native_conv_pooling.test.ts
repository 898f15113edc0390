import * as tf from '@tensorflow/tfjs';
import { registerNativeKernels, unregisterNativeKernels } from '@litv2/core/node';
import { describeNative, expectSame, rand, runBoth, setupNative, weightedSum } from './native_helpers';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describeNative('native matmul kernels vs tfjs cpu', () => {
  setupNative();

  test('the cpu backend runs the native kernels once registered and the originals after unregistering', () => {
    const before = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
    const r = registerNativeKernels();
    expect(r.ok).toBe(true);
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).not.toBe(before);
    unregisterNativeKernels();
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).toBe(before);
  });

  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[4, 7, 5], [4, 6, 7], true, true],
    [[2, 3, 5, 7], [2, 3, 7, 4], false, false],
    [[1, 1], [1, 9], false, false],
    [[3, 13, 33], [3, 17, 33], false, true],
  ];
  test.each(cases)('matMul %j x %j (tA=%s tB=%s) forward and gradients', (sa, sb, ta, tb) => {
    const a = rand(sa), b = rand(sb);
    expectSame(() => tf.matMul(a, b, ta, tb));
    expectSame(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => weightedSum(tf.matMul(x, y, ta, tb)))([a, b]));
  });

  // tfjs' cpu BatchMatMul mis-sizes broadcast batches and its gradient does not reduce them, so these compare
  // against the original kernel on explicitly broadcast operands.
  test.each([
    [[2, 3, 5, 7], [7, 4], false],
    [[2, 1, 5, 7], [3, 7, 4], false],
    [[3, 13, 33], [17, 33], true],
    [[1, 4, 6], [3, 4, 6, 2], false],
  ] as [number[], number[], boolean][])('broadcast batch matMul %j x %j (tB=%s)', (sa, sb, tb) => {
    const a = rand(sa), b = rand(sb);
    const { native } = runBoth(() => tf.matMul(a, b, false, tb));
    unregisterNativeKernels();
    const batch = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
    const ref = tf.tidy(() => tf.matMul(tf.broadcastTo(a, [...batch, ...sa.slice(-2)]), tf.broadcastTo(b, [...batch, ...sb.slice(-2)]), false, tb));
    expect(native[0].shape).toEqual(ref.shape);
    const r = ref.dataSync();
    native[0].data.forEach((v, i) => expect(Math.abs(v - r[i])).toBeLessThan(1e-5 * (1 + Math.abs(r[i]))));
    ref.dispose();
    registerNativeKernels();
  });

  test('matMul with mismatched inner dims throws', () => {
    registerNativeKernels();
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/inner shapes/);
  });

  test.each(['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'] as const)('fused matMul + bias + %s', (activation) => {
    const a = rand([6, 9]), b = rand([9, 5]), bias = rand([5]);
    expectSame(() => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
    const bias2 = rand([6, 5]);
    expectSame(() => tf.fused.matMul({ a, b, bias: bias2, activation, transposeB: false }));
  });

  test('fused matMul gradients (linear, relu) with batch dims and transposes', () => {
    const a = rand([2, 9, 6]), b = rand([2, 5, 9]), bias = rand([5]);
    for (const activation of ['linear', 'relu'] as const) {
      expectSame(() => tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        weightedSum(tf.fused.matMul({ a: x as tf.Tensor3D, b: y as tf.Tensor3D, bias: z, activation, transposeA: true, transposeB: true })))([a, b, bias]));
    }
  });
});

describeNative('native convolution kernels vs tfjs cpu', () => {
  setupNative();

  const convCases: [number[], number[], [number, number], Pad, [number, number]][] = [
    [[2, 9, 11, 3], [3, 3, 3, 5], [1, 1], 'same', [1, 1]],
    [[2, 9, 11, 3], [3, 3, 3, 5], [2, 2], 'same', [1, 1]],
    [[1, 10, 7, 4], [3, 2, 4, 6], [2, 1], 'valid', [1, 1]],
    [[2, 8, 8, 3], [4, 4, 3, 8], [4, 4], 'valid', [1, 1]], // patch embedding
    [[2, 7, 9, 6], [1, 1, 6, 5], [1, 1], 'valid', [1, 1]], // pointwise GEMM path
    [[1, 9, 10, 2], [3, 3, 2, 3], [2, 2], [[0, 0], [1, 2], [0, 1], [0, 0]], [1, 1]], // explicit padding
    [[2, 6, 7, 3], [3, 3, 3, 4], [1, 1], 1, [1, 1]], // numeric padding
    [[2, 6, 5, 8], [2, 2, 8, 16], [2, 2], 'valid', [1, 1]], // token-merging 2x2/2, odd width
  ];
  test.each(convCases)('conv2d x%j w%j strides %j pad %j: forward and both gradients', (xs, ws, strides, pad, dil) => {
    const x = rand(xs) as tf.Tensor4D, w = rand(ws) as tf.Tensor4D;
    expectSame(() => tf.conv2d(x, w, strides, pad, 'NHWC', dil), 1e-5);
    expectSame(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dil)))([x, w]), 1e-5);
  });

  test.each([
    [[2, 11, 9, 3], [3, 3, 3, 4], 'same', [2, 2]],
    [[1, 12, 12, 2], [3, 3, 2, 3], 'valid', [2, 3]],
    [[1, 9, 9, 2], [2, 3, 2, 3], [[0, 0], [2, 1], [1, 3], [0, 0]], [2, 1]],
  ] as [number[], number[], Pad, [number, number]][])('dilated conv2d x%j w%j pad %j dilation %j (forward)', (xs, ws, pad, dil) => {
    const x = rand(xs) as tf.Tensor4D, w = rand(ws) as tf.Tensor4D;
    expectSame(() => tf.conv2d(x, w, 1, pad, 'NHWC', dil));
  });

  test('fused conv2d (bias + relu / relu6 / sigmoid / leakyrelu) and its gradient', () => {
    const x = rand([2, 7, 8, 3]) as tf.Tensor4D, w = rand([3, 3, 3, 4]) as tf.Tensor4D, bias = rand([4]) as tf.Tensor1D;
    for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu'] as const) {
      expectSame(() => tf.fused.conv2d({ x, filter: w, strides: 2, pad: 'same', bias, activation, leakyreluAlpha: 0.2 }));
    }
    expectSame(() => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      weightedSum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 1, pad: 'same', bias: c, activation: 'relu' })))([x, w, bias]));
  });

  const dwCases: [number[], number[], [number, number], Pad, [number, number]][] = [
    [[2, 9, 11, 6], [3, 3, 6, 1], [1, 1], 'same', [1, 1]],
    [[2, 9, 11, 6], [3, 3, 6, 1], [2, 2], 'same', [1, 1]],
    [[1, 10, 7, 4], [3, 3, 4, 2], [1, 2], 'valid', [1, 1]], // channel multiplier 2
    [[2, 8, 9, 5], [3, 3, 5, 1], [1, 1], [[0, 0], [1, 1], [2, 0], [0, 0]], [1, 1]],
    [[1, 14, 14, 64], [3, 3, 64, 1], [1, 1], 'same', [1, 1]], // FFN depth-wise 3x3
  ];
  test.each(dwCases)('depthwiseConv2d x%j w%j strides %j pad %j: forward and both gradients', (xs, ws, strides, pad, dil) => {
    const x = rand(xs) as tf.Tensor4D, w = rand(ws) as tf.Tensor4D;
    expectSame(() => tf.depthwiseConv2d(x, w, strides, pad, 'NHWC', dil));
    expectSame(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad, 'NHWC', dil)))([x, w]));
  });

  test('dilated depthwise forward and fused depthwise (bias + relu)', () => {
    const x = rand([1, 11, 12, 3]) as tf.Tensor4D, w = rand([3, 3, 3, 2]) as tf.Tensor4D, bias = rand([6]);
    expectSame(() => tf.depthwiseConv2d(x, w, 1, 'same', 'NHWC', [2, 2]));
    expectSame(() => tf.fused.depthwiseConv2d({ x, filter: w, strides: 1, pad: 'same', bias, activation: 'relu' }));
  });

  test.each([
    [[2, 8, 10, 3], [2, 2], [2, 2], 'valid'],
    [[1, 9, 7, 4], [3, 3], [1, 1], 'same'],
    [[2, 9, 7, 2], [3, 3], [2, 2], 'same'],
    [[1, 7, 7, 3], [2, 2], [2, 2], 'valid'], // odd size: last row/col dropped
  ] as [number[], [number, number], [number, number], 'valid' | 'same'][])('avgPool x%j k%j s%j %s: forward and gradient', (xs, k, s, pad) => {
    const x = rand(xs) as tf.Tensor4D;
    expectSame(() => tf.avgPool(x, k, s, pad));
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.avgPool(a as tf.Tensor4D, k, s, pad)))(x));
  });
});
