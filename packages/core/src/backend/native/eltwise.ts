import * as tf from '@tensorflow/tfjs';
import { NATIVE_OP_CODES } from './op_codes';
import { type KernelArgs, type KernelFn, type NativeContext, axes, broadcastStrides, collapse, contiguousStrides, f64, out, sizeOf, values } from './util';

const { unary: U, binary: B, reduce: R } = NATIVE_OP_CODES;
/** Native op codes (op_codes.ts) by tfjs kernel name. */
const UNARY: Record<string, number> = {
  Neg: U.neg, Exp: U.exp, Log: U.log, Sqrt: U.sqrt, Rsqrt: U.rsqrt, Square: U.square, Relu: U.relu, Relu6: U.relu6,
  Sigmoid: U.sigmoid, Tanh: U.tanh, Abs: U.abs, Reciprocal: U.reciprocal, Erf: U.erf, LeakyRelu: U.leakyrelu, Elu: U.elu,
  Floor: U.floor, Step: U.step, Sign: U.sign, Log1p: U.log1p, Expm1: U.expm1, Ceil: U.ceil, Round: U.round,
};
const BINARY: Record<string, number> = {
  Add: B.add, Sub: B.sub, Multiply: B.mul, RealDiv: B.div, SquaredDifference: B.sqdiff, Maximum: B.max, Minimum: B.min, Pow: B.pow,
};
const REDUCE: Record<string, number> = { Sum: R.sum, Mean: R.mean, Max: R.max, Min: R.min };

const attr = (args: KernelArgs, name: string): unknown => (args.attrs as Record<string, unknown> | undefined)?.[name];

/** Transposes x so that the axes in `red` become innermost; returns the data and the [outer, R] split. */
function moveAxesLast(ctx: NativeContext, args: KernelArgs, x: tf.TensorInfo, red: number[]): { data: Float32Array; outer: number; R: number; inner: number } {
  const rank = x.shape.length;
  const keep = [...Array(rank).keys()].filter((d) => !red.includes(d));
  const xv = values(args.backend, x);
  const outer = sizeOf(keep.map((d) => x.shape[d]));
  const R = sizeOf(red.map((d) => x.shape[d]));
  // Contiguous patterns need no copy: [keep..., red..., keep...] reduces as [outer, R, inner].
  const sorted = [...red].sort((p, q) => p - q);
  const contiguous = sorted.every((d, i) => i === 0 || d === sorted[i - 1] + 1);
  if (contiguous) {
    const lo = sorted[0] ?? rank, hi = (sorted[sorted.length - 1] ?? rank - 1) + 1;
    return { data: xv, outer: sizeOf(x.shape.slice(0, lo)), R, inner: sizeOf(x.shape.slice(hi)) };
  }
  const perm = [...keep, ...sorted];
  const t = transposeData(ctx, xv, x.shape, perm);
  return { data: t as Float32Array, outer, R, inner: 1 };
}

/** y = transpose(x, perm) for 1- or 4-byte elements through the native strided copy. */
export function transposeData(ctx: NativeContext, xv: ArrayBufferView, shape: number[], perm: number[]): ArrayBufferView {
  const xs = contiguousStrides(shape);
  const outShape = perm.map((p) => shape[p]);
  const c = collapse(outShape, [perm.map((p) => xs[p])]);
  const n = sizeOf(shape);
  const Ctor = xv.constructor as { new (n: number): ArrayBufferView };
  const y = xv instanceof Float32Array ? ctx.buffers.f32(n) : new Ctor(n);
  if (n > 0) ctx.addon.stridedCopy(xv, 0, y, f64(c.shape), f64(c.strides[0]));
  return y;
}

export function eltwiseKernels(ctx: NativeContext): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};

  for (const [name, op] of Object.entries(UNARY)) {
    k[name] = (args) => {
      const { x } = args.inputs;
      if (x.dtype !== 'float32') return ctx.original(name)(args);
      const xv = values(args.backend, x);
      const y = ctx.buffers.f32(xv.length);
      const alpha = name === 'LeakyRelu' ? (attr(args, 'alpha') as number) : name === 'Step' ? ((attr(args, 'alpha') as number) ?? 0) : 0;
      ctx.addon.unary(op, xv, y, alpha);
      return out(args.backend, [...x.shape], 'float32', y);
    };
  }

  for (const [name, op] of Object.entries(BINARY)) {
    k[name] = (args) => {
      const { a, b } = args.inputs;
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return ctx.original(name)(args);
      const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const y = ctx.buffers.f32(sizeOf(shape));
      if (y.length > 0) {
        const c = collapse(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
        ctx.addon.binary(op, values(args.backend, a), values(args.backend, b), y, f64(c.shape), f64(c.strides[0]), f64(c.strides[1]));
      }
      return out(args.backend, shape, 'float32', y);
    };
  }

  k.AddN = (args) => {
    const ts = args.inputs as unknown as tf.TensorInfo[];
    const list = Array.isArray(ts) ? ts : Object.values(args.inputs);
    if (list.some((t) => t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, list[0].shape))) return ctx.original('AddN')(args);
    const y = ctx.buffers.f32(sizeOf(list[0].shape));
    ctx.addon.addN(list.map((t) => values(args.backend, t)), y);
    return out(args.backend, [...list[0].shape], 'float32', y);
  };

  k.EluGrad = (args) => {
    const { dy, y } = args.inputs;
    if (dy.dtype !== 'float32' || y.dtype !== 'float32') return ctx.original('EluGrad')(args);
    const dx = ctx.buffers.f32(sizeOf(dy.shape));
    ctx.addon.eluGrad(values(args.backend, dy), values(args.backend, y), dx);
    return out(args.backend, [...dy.shape], 'float32', dx);
  };

  k.Softmax = (args) => {
    const { logits } = args.inputs;
    const dim = attr(args, 'dim') as number;
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return ctx.original('Softmax')(args);
    const cols = logits.shape[rank - 1];
    const y = ctx.buffers.f32(sizeOf(logits.shape));
    if (y.length > 0) ctx.addon.softmax(values(args.backend, logits), y, y.length / cols, cols);
    return out(args.backend, [...logits.shape], 'float32', y);
  };

  for (const [name, op] of Object.entries(REDUCE)) {
    k[name] = (args) => {
      const { x } = args.inputs;
      if (x.dtype !== 'float32') return ctx.original(name)(args);
      const axisAttr = (name === 'Max' ? attr(args, 'reductionIndices') : attr(args, 'axis')) as number | number[] | null;
      const rank = x.shape.length;
      const red = axes(axisAttr, rank);
      const keepDims = !!attr(args, 'keepDims');
      const outShape = keepDims ? x.shape.map((d, i) => (red.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !red.includes(i));
      if (red.length === 0 || (op >= 2 && sizeOf(x.shape) === 0)) return ctx.original(name)(args);
      const { data, outer, R, inner } = moveAxesLast(ctx, args, x, red);
      const y = ctx.buffers.f32(outer * inner);
      ctx.addon.reduce(op, data, y, outer, R, inner);
      if (data !== values(args.backend, x)) ctx.buffers.release(data);
      return out(args.backend, outShape, 'float32', y);
    };
  }
  return k;
}
