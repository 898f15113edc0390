import * as tf from '@tensorflow/tfjs';
import { type KernelFn, type NativeContext, out, sizeOf, values } from './native_util';

/**
 * Fused GELU and LayerNorm: kernels of our own (not tfjs') that the native add-on registers on the cpu
 * backend. `gelu()` and `LayerNorm` in nn/ call them through `fusedGelu` / `fusedLayerNorm` when the current
 * backend has them and fall back to their tfjs compositions otherwise, so every backend stays usable.
 */
export const FUSED_GELU = 'LITv2Gelu';
export const FUSED_GELU_GRAD = 'LITv2GeluGrad';
export const FUSED_LAYER_NORM = 'LITv2LayerNorm';
export const FUSED_LAYER_NORM_GRAD = 'LITv2LayerNormGrad';

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

const firstDy = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(dy) ? dy[0] : dy);
let gradientsRegistered = false;

/** Gradients of the fused kernels (global tfjs registry; registered once). */
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

export function fusedKernels(ctx: NativeContext): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};
  k[FUSED_GELU] = ({ inputs, backend }) => {
    const xv = values(backend, inputs.x);
    const y = ctx.pool.f32(xv.length);
    ctx.addon.gelu(xv, y);
    return out(backend, [...inputs.x.shape], 'float32', y);
  };
  k[FUSED_GELU_GRAD] = ({ inputs, backend }) => {
    const xv = values(backend, inputs.x);
    const dx = ctx.pool.f32(xv.length);
    ctx.addon.geluGrad(values(backend, inputs.dy), xv, dx);
    return out(backend, [...inputs.x.shape], 'float32', dx);
  };
  k[FUSED_LAYER_NORM] = ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs;
    const cols = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / cols;
    const y = ctx.pool.f32(rows * cols), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    ctx.addon.layerNorm(values(backend, x), values(backend, gamma), values(backend, beta), y, mean, rstd, rows, cols, (attrs as { eps: number }).eps);
    const lead = x.shape.slice(0, -1);
    return [out(backend, [...x.shape], 'float32', y), out(backend, lead, 'float32', mean), out(backend, lead, 'float32', rstd)];
  };
  k[FUSED_LAYER_NORM_GRAD] = ({ inputs, backend, attrs }) => {
    const { dy, x, gamma, mean, rstd } = inputs;
    const which = (attrs as { which: number }).which;
    const cols = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / cols;
    const dx = which === 0 ? ctx.pool.f32(rows * cols) : null;
    const dg = which === 0 ? null : new Float32Array(cols);
    const db = which === 0 ? null : new Float32Array(cols);
    ctx.addon.layerNormGrad(values(backend, dy), values(backend, x), values(backend, gamma), values(backend, mean), values(backend, rstd), dx, dg, db, rows, cols);
    if (dx) return out(backend, [...x.shape], 'float32', dx);
    return out(backend, [...gamma.shape], 'float32', (which === 1 ? dg : db) as Float32Array);
  };
  return k;
}
