import * as tf from '@tensorflow/tfjs';
import { gelu, LayerNorm, fusedGelu, fusedLayerNorm } from '@litv2/core';
import { registerNativeKernels, unregisterNativeKernels } from '@litv2/core/node';
import { describeNative, rand, setupNative, weightedSum } from './native_helpers';

/** The tfjs compositions the fused kernels replace (what nn/ runs on other backends). */
const geluRef = (x: tf.Tensor) => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
const lnRef = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(w).add(b);
};

function close(a: tf.Tensor, b: tf.Tensor, tol: number): void {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  const s = tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]);
  expect(d / (1 + s)).toBeLessThan(tol);
}

describeNative('fused GELU / LayerNorm kernels', () => {
  setupNative();
  beforeEach(() => {
    registerNativeKernels();
  });

  test('they exist only while the native kernels are registered', () => {
    const x = rand([3, 4]);
    expect(fusedGelu(x)).toBeDefined();
    unregisterNativeKernels();
    expect(fusedGelu(x)).toBeUndefined();
    expect(fusedLayerNorm(x, tf.ones([4]), tf.zeros([4]), 1e-5)).toBeUndefined();
  });

  test('GELU forward and gradient match the erf composition', () => {
    const x = rand([4, 7, 33], -6, 6);
    tf.tidy(() => close(gelu(x), geluRef(x), 2e-6));
    tf.tidy(() => close(tf.grad((a: tf.Tensor) => weightedSum(gelu(a)))(x), tf.grad((a: tf.Tensor) => weightedSum(geluRef(a)))(x), 2e-6));
  });

  test.each([[[2, 5, 7, 24]], [[9, 96]], [[3, 1]], [[2, 3, 384]]])('LayerNorm %j forward and gradients (x, weight, bias)', (shape) => {
    const c = shape[shape.length - 1];
    const ln = new LayerNorm(c);
    ln.weight.assign(rand([c], 0.5, 1.5));
    ln.bias.assign(rand([c]));
    const x = rand(shape, -3, 5);
    tf.tidy(() => close(ln.forward(x), lnRef(x, ln.weight, ln.bias, ln.eps), 1e-5));
    const f = (fn: () => tf.Tensor) => tf.variableGrads(() => weightedSum(fn()), [ln.weight, ln.bias]);
    const g1 = f(() => ln.forward(x)), g2 = f(() => lnRef(x, ln.weight, ln.bias, ln.eps));
    close(g1.grads[ln.weight.name], g2.grads[ln.weight.name], 1e-5);
    close(g1.grads[ln.bias.name], g2.grads[ln.bias.name], 1e-5);
    tf.dispose([g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
    tf.tidy(() => close(tf.grad((a: tf.Tensor) => weightedSum(ln.forward(a)))(x), tf.grad((a: tf.Tensor) => weightedSum(lnRef(a, ln.weight, ln.bias, ln.eps)))(x), 1e-5));
  });

  test('no tensors leak from fused forward/backward (eval and training)', () => {
    const ln = new LayerNorm(16);
    const x = rand([2, 5, 16]);
    const step = () => {
      tf.tidy(() => {
        gelu(ln.forward(x));
        const { value, grads } = tf.variableGrads(() => weightedSum(gelu(ln.forward(x))), [ln.weight, ln.bias]);
        tf.dispose([value, ...Object.values(grads)]);
      });
    };
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; ++i) step();
    expect(tf.memory().numTensors).toBe(n);
  });
});
