import * as tf from '@tensorflow/tfjs';

/**
 * Fused ops: kernels of our own (not tfjs') that a backend may register to run GELU and LayerNorm in one
 * kernel each. This file is backend-neutral: it names the kernels, registers their gradients, and gives the
 * pure-tfjs composition each falls back to where the current backend has no such kernel, so every backend
 * stays usable. A backend folder (backend/native/, backend/webgpu/) implements the kernels under these names
 * and calls `registerFusedGradients()` when it registers them.
 */
export const FUSED_GELU = 'LITv2Gelu';
export const FUSED_GELU_GRAD = 'LITv2GeluGrad';
export const FUSED_LAYER_NORM = 'LITv2LayerNorm';
export const FUSED_LAYER_NORM_GRAD = 'LITv2LayerNormGrad';

/** Every fused kernel name a backend implements (all four, or none). */
export const FUSED_KERNEL_NAMES = [FUSED_GELU, FUSED_GELU_GRAD, FUSED_LAYER_NORM, FUSED_LAYER_NORM_GRAD] as const;

const has = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;

/** Exact GELU in one kernel, or undefined where the backend has no fused kernel. */
export function fusedGelu<T extends tf.Tensor>(x: T): T | undefined {
  if (x.dtype !== 'float32' || !has(FUSED_GELU)) return undefined;
  return tf.engine().runKernel(FUSED_GELU, { x }) as T;
}

/** LayerNorm over the last axis in one kernel (saves mean and 1/std for the backward pass). */
export function fusedLayerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, bias: tf.Tensor, eps: number): T | undefined {
  const c = x.shape[x.shape.length - 1];
  if (x.dtype !== 'float32' || x.rank === 0 || weight.size !== c || bias.size !== c || !has(FUSED_LAYER_NORM)) return undefined;
  // mean / rstd are extra outputs kept by the tape for the gradient; tidy disposes them otherwise.
  return tf.tidy(() => (tf.engine().runKernel(FUSED_LAYER_NORM, { x, gamma: weight, beta: bias }, { eps }) as tf.Tensor[])[0]) as T;
}

/** Exact GELU: the fused kernel where the backend has it, else its tfjs composition. */
export function geluValue<T extends tf.Tensor>(x: T): T {
  return fusedGelu(x) ?? tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5) as T);
}

/**
 * dy · GELU'(x): the fused kernel, else the steps tfjs' autodiff takes through the composition in `geluValue`
 * (written out: a nested tf.grad inside a backward pass would reset the engine's active tape).
 */
export function geluGradient(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && has(FUSED_GELU_GRAD)) return tf.engine().runKernel(FUSED_GELU_GRAD, { dy, x }) as tf.Tensor;
  return tf.tidy(() => {
    const u = x.mul(Math.SQRT1_2);
    const dm = dy.mul(0.5);
    const viaX = dm.mul(tf.erf(u).add(1));
    const du = dm.mul(x).mul(tf.mul(tf.exp(tf.neg(tf.square(u))), 2 / Math.sqrt(Math.PI)));
    return tf.add(viaX, du.mul(Math.SQRT1_2));
  });
}

/** LayerNorm over the last axis: one kernel where the backend has it, else the tfjs composition. */
export function layerNormValue<T extends tf.Tensor>(x: T, weight: tf.Tensor, bias: tf.Tensor, eps: number): T {
  const fused = fusedLayerNorm(x, weight, bias, eps);
  if (fused) return fused;
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(weight).add(bias) as T;
  });
}

const firstDy = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(dy) ? dy[0] : dy);
let gradientsRegistered = false;

/** Gradients of the fused kernels (global tfjs registry; registered once, by whichever backend comes first). */
export function registerFusedGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: FUSED_GELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.engine().runKernel(FUSED_GELU_GRAD, { dy: firstDy(dy), x: saved[0] }) as tf.Tensor }),
  });
  tf.registerGradient({
    kernelName: FUSED_LAYER_NORM,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved) => {
      const dy = firstDy(dys);
      const [x, gamma, mean, rstd] = saved;
      // Each accessor runs in its own tidy, so each computes only what it returns.
      const grad = (which: number) => (tf.engine().runKernel(FUSED_LAYER_NORM_GRAD, { dy, x, gamma, mean, rstd }, { which }) as tf.Tensor);
      return { x: () => grad(0), gamma: () => grad(1), beta: () => grad(2) };
    },
  });
}
