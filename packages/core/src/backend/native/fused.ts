import { type KernelFn, type NativeContext, out, sizeOf, values } from './util';

import { FUSED_GELU, FUSED_GELU_GRAD, FUSED_LAYER_NORM, FUSED_LAYER_NORM_GRAD } from '../fused_ops';

/** The native add-on's implementations of the backend-neutral fused ops (backend/fused_ops.ts) on the cpu backend. */
export function fusedKernels(ctx: NativeContext): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};
  k[FUSED_GELU] = ({ inputs, backend }) => {
    const xv = values(backend, inputs.x);
    const y = ctx.buffers.f32(xv.length);
    ctx.addon.gelu(xv, y);
    return out(backend, [...inputs.x.shape], 'float32', y);
  };
  k[FUSED_GELU_GRAD] = ({ inputs, backend }) => {
    const xv = values(backend, inputs.x);
    const dx = ctx.buffers.f32(xv.length);
    ctx.addon.geluGrad(values(backend, inputs.dy), xv, dx);
    return out(backend, [...inputs.x.shape], 'float32', dx);
  };
  k[FUSED_LAYER_NORM] = ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs;
    const cols = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / cols;
    const y = ctx.buffers.f32(rows * cols), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    ctx.addon.layerNorm(values(backend, x), values(backend, gamma), values(backend, beta), y, mean, rstd, rows, cols, (attrs as { eps: number }).eps);
    const lead = x.shape.slice(0, -1);
    return [out(backend, [...x.shape], 'float32', y), out(backend, lead, 'float32', mean), out(backend, lead, 'float32', rstd)];
  };
  k[FUSED_LAYER_NORM_GRAD] = ({ inputs, backend, attrs }) => {
    const { dy, x, gamma, mean, rstd } = inputs;
    const which = (attrs as { which: number }).which;
    const cols = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / cols;
    const dx = which === 0 ? ctx.buffers.f32(rows * cols) : null;
    const dg = which === 0 ? null : new Float32Array(cols);
    const db = which === 0 ? null : new Float32Array(cols);
    ctx.addon.layerNormGrad(values(backend, dy), values(backend, x), values(backend, gamma), values(backend, mean), values(backend, rstd), dx, dg, db, rows, cols);
    if (dx) return out(backend, [...x.shape], 'float32', dx);
    return out(backend, [...gamma.shape], 'float32', (which === 1 ? dg : db) as Float32Array);
  };
  return k;
}
