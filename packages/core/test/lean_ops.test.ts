import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/node';
import { add, attention, conv2dBias, dropPathScale, geluLinear, linear, sumAll, view } from '../src/nn/lean_ops';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** Value and gradients of sum(f(...xs) · r) (r random, so every output element matters). */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    let out: tf.Tensor | undefined;
    const grads = tf.grads((...a: tf.Tensor[]) => {
      out = tf.keep(f(...a));
      return out.mul(rnd(out.shape, 99)).sum();
    })(xs);
    const r = [out!, ...grads].map((t) => t.dataSync() as Float32Array);
    out!.dispose();
    return r;
  });
}

function expectIdentical(lean: (...xs: tf.Tensor[]) => tf.Tensor, plain: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): void {
  const a = valueAndGrads(lean, xs);
  const b = valueAndGrads(plain, xs);
  expect(a.length).toBe(b.length);
  a.forEach((t, i) => expect(t).toEqual(b[i]));
}

const geluPlain = (x: tf.Tensor) => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);

describe('lean ops give the values and gradients of the plain tfjs compositions, bit for bit', () => {
  test('linear (with and without bias), view, add', () => {
    const x = rnd([2, 3, 5, 6], 1), w = rnd([6, 4], 2), b = rnd([4], 3);
    expectIdentical((x, w, b) => linear(x, w, b), (x, w, b) => tf.matMul(x.reshape([-1, 6]), w).reshape([2, 3, 5, 4]).add(b), [x, w, b]);
    expectIdentical((x, w) => linear(x, w), (x, w) => tf.matMul(x.reshape([-1, 6]), w).reshape([2, 3, 5, 4]), [x, w]);
    expectIdentical((x) => view(x, [6, 30]).square(), (x) => x.reshape([6, 30]).square(), [x]);
    const y = rnd([2, 3, 5, 6], 4);
    expectIdentical((x, y) => add(x.square(), y), (x, y) => x.square().add(y), [x, y]);
    expectIdentical((x) => sumAll(x.square()), (x) => x.square().sum(), [x]);
  });

  test('GELU + linear, DropPath scaling', () => {
    const x = rnd([2, 4, 4, 8], 5), w = rnd([8, 3], 6), b = rnd([3], 7);
    expectIdentical((x, w, b) => geluLinear(x, w, b), (x, w, b) => tf.matMul(geluPlain(x).reshape([-1, 8]), w).reshape([2, 4, 4, 3]).add(b), [x, w, b]);
    const mask = tf.tensor4d([1, 0], [2, 1, 1, 1]);
    expectIdentical((x) => dropPathScale(0.8)(x, mask), (x) => x.div(0.8).mul(mask), [x]);
  });

  test('conv + bias (+ ReLU), regular and depth-wise, padded and strided', () => {
    const x = rnd([2, 7, 6, 4], 8), b = rnd([4], 10);
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
    for (const relu of [false, true]) {
      const w = rnd([3, 3, 4, 4], 9);
      const o = { strides: [2, 1] as [number, number], pad, dilations: [1, 1] as [number, number], depthwise: false, relu };
      const plain = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], pad, 'NHWC', [1, 1]).add(b);
        return relu ? tf.relu(y) : y;
      };
      expectIdentical((x, w, b) => conv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, o), plain, [x, w, b]);
      const dw = rnd([3, 3, 4, 1], 11);
      const od = { ...o, strides: [1, 1] as [number, number], depthwise: true };
      const plainDw = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
        const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, [1, 1], pad, 'NHWC', [1, 1]).add(b);
        return relu ? tf.relu(y) : y;
      };
      expectIdentical((x, w, b) => conv2dBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, od), plainDw, [x, dw, b]);
    }
  });

  test('attention', () => {
    const q = rnd([2, 3, 5, 4], 12), k = rnd([2, 3, 7, 4], 13), v = rnd([2, 3, 7, 4], 14);
    expectIdentical((q, k, v) => attention(q, k, v, 0.5), (q, k, v) => tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(0.5)), v), [q, k, v]);
  });
});
