import * as tf from '@tensorflow/tfjs';
import { gelu, LayerNorm } from '@litv2/core';
import { registerNativeKernels } from '@litv2/core/node';
import { describeNative, expectSame, rand, runBoth, setupNative, weightedSum } from './native_helpers';

describeNative('native elementwise / reduction kernels vs tfjs cpu', () => {
  setupNative();

  const unaries: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
    ['neg', tf.neg, -3, 3], ['exp', tf.exp, -20, 20], ['log', tf.log, 0.01, 50], ['sqrt', tf.sqrt, 0, 9],
    ['rsqrt', tf.rsqrt, 0.01, 9], ['square', tf.square, -3, 3], ['relu', tf.relu, -2, 2], ['relu6', tf.relu6, -3, 9],
    ['sigmoid', tf.sigmoid, -12, 12], ['tanh', tf.tanh, -5, 5], ['abs', tf.abs, -3, 3], ['reciprocal', tf.reciprocal, 0.1, 4],
    ['erf', tf.erf, -4, 4], ['erf (small)', tf.erf, -0.3, 0.3], ['leakyRelu', (x) => tf.leakyRelu(x, 0.1), -2, 2],
    ['elu', tf.elu, -3, 3], ['floor', tf.floor, -5, 5], ['step', (x) => tf.step(x, 0.3), -2, 2], ['sign', tf.sign, -2, 2],
    ['log1p', tf.log1p, -0.5, 5], ['expm1', tf.expm1, -3, 3], ['ceil', tf.ceil, -5, 5], ['round', tf.round, -5, 5],
  ];
  test.each(unaries)('%s forward (odd size) and gradient', (_, f, lo, hi) => {
    const x = rand([3, 37, 5], lo, hi);
    expectSame(() => f(x), 2e-6);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(f(a)))(x), 2e-6);
  });

  test('exp saturates and keeps NaN like tfjs', () => {
    const x = tf.tensor1d([-200, -88, 0, 88, 200, NaN, -Infinity]);
    expectSame(() => [tf.exp(x).clipByValue(-1e30, 1e30), tf.relu(x), tf.step(x)], 1e-6);
  });

  const pairs: [number[], number[]][] = [
    [[4, 5, 6], [4, 5, 6]], [[4, 5, 6], [6]], [[4, 1, 6], [5, 1]], [[], [3, 4]], [[3, 4], []], [[2, 3, 1, 5], [1, 3, 4, 1]],
    [[7, 1], [1, 9]], [[2, 9, 8, 16], [16]], [[1], [33]],
  ];
  const binaries: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['squaredDifference', tf.squaredDifference],
    ['maximum', tf.maximum], ['minimum', tf.minimum], ['pow', tf.pow],
  ];
  // tfjs' own gradients of squaredDifference / maximum / minimum do not reduce broadcast inputs, so those are
  // differentiated on equal shapes only.
  const reducesBroadcast = new Set(['add', 'sub', 'mul', 'div', 'pow']);
  test.each(binaries)('%s with broadcasting: forward and gradients', (name, f) => {
    for (const [sa, sb] of pairs) {
      const a = rand(sa), b = rand(sb, 0.5, 2);
      expectSame(() => f(a, b), 2e-6);
      if (!reducesBroadcast.has(name) && !tf.util.arraysEqual(sa, sb)) continue;
      expectSame(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => weightedSum(f(x, y)))([a, b]), 1e-5);
    }
  });

  test('int32 inputs fall back to the tfjs kernels and stay exact', () => {
    const a = tf.tensor1d([1, 2, 3], 'int32'), b = tf.tensor1d([10, 20, 30], 'int32');
    const { native } = runBoth(() => [tf.add(a, b), tf.mul(a, b), tf.sum(a), tf.transpose(tf.reshape(b, [3, 1]))]);
    expect(Array.from(native[0].data)).toEqual([11, 22, 33]);
    expect(Array.from(native[1].data)).toEqual([10, 40, 90]);
    expect(Array.from(native[2].data)).toEqual([6]);
    expect(Array.from(native[3].data)).toEqual([10, 20, 30]);
  });

  test('addN', () => {
    const xs = [rand([3, 7]), rand([3, 7]), rand([3, 7])];
    expectSame(() => tf.addN(xs), 1e-6);
  });

  test.each([[[5, 7]], [[2, 3, 49]], [[4, 196]], [[1, 1]]])('softmax %j forward and gradient', (shape) => {
    const x = rand(shape, -8, 8);
    expectSame(() => tf.softmax(x), 1e-6);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(tf.softmax(a)))(x), 1e-6);
    expectSame(() => tf.logSoftmax(x), 1e-5);
  });

  const reductions: [string, (x: tf.Tensor, ax: number | number[] | undefined, k: boolean) => tf.Tensor][] = [
    ['sum', tf.sum], ['mean', tf.mean], ['max', tf.max], ['min', tf.min],
  ];
  test.each(reductions)('%s over contiguous, strided and all axes (keepDims on/off) and its gradient', (_, f) => {
    const x = rand([3, 4, 5, 6]);
    for (const ax of [undefined, -1, 0, 1, [1, 2], [0, 2], [0, 3], [1, 3], [0, 1, 2, 3], [2, 0]] as (number | number[] | undefined)[]) {
      for (const keep of [false, true]) expectSame(() => f(x, ax, keep), 1e-6);
      expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(f(a, ax, false)))(x), 1e-6);
    }
    const big = rand([2, 3000, 7]);
    expectSame(() => [f(big, 1, false), f(big, [0, 1], false), f(big, -1, true)], 1e-6);
  });

  test('LayerNorm and exact GELU through the native kernels: forward and gradients', () => {
    const ln = new LayerNorm(24);
    const x = rand([2, 9, 24]);
    expectSame(() => gelu(ln.forward(x)), 1e-5);
    expectSame(() => tf.grad((a: tf.Tensor) => weightedSum(gelu(ln.forward(a))))(x), 1e-5);
    const y = rand([4, 6, 6, 8]);
    expectSame(() => tf.moments(y, [0, 1, 2]), 1e-6);
  });

  test('tensor count stays flat over repeated native calls inside tidy', () => {
    registerNativeKernels();
    const x = rand([4, 8, 8, 16]);
    const w = rand([3, 3, 16, 1]);
    const step = (): void => {
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(tf.softmax(gelu(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))))([x, w]);
      });
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; ++i) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
