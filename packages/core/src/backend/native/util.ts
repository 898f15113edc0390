import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon';
import type { OutputBufferPool } from './output_buffers';

/** The slice of the cpu backend the native kernels use. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

export type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
};
export type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** What each group of native kernels gets: the add-on and the original cpu kernel of the same name. */
export interface NativeContext {
  addon: NativeAddon;
  /** Output allocation (recycled Float32Arrays). */
  buffers: OutputBufferPool;
  /** The tfjs cpu kernel being replaced (used for the cases the native code does not cover). */
  original(name: string): KernelFn;
}

export const cpu = (b: tf.KernelBackend): CpuBackendLike => b as unknown as CpuBackendLike;

/** The backing typed array of a tensor on the cpu backend (no copy). */
export function rawValues(b: tf.KernelBackend, t: tf.TensorInfo): ArrayBufferView {
  const v = cpu(b).data.get(t.dataId).values;
  if (!ArrayBuffer.isView(v)) throw new Error(`native kernels: tensor of dtype ${t.dtype} has no typed-array data`);
  return v;
}
/**
 * The tensor's data as the typed array its dtype implies. tfjs' cpu Cast from bool/int32 to float32 keeps the
 * source array (a float32 tensor may hold a Uint8Array); such inputs are converted here, once.
 */
export function canonValues(b: tf.KernelBackend, t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array {
  const v = rawValues(b, t);
  if (t.dtype === 'float32') return v instanceof Float32Array ? v : Float32Array.from(v as unknown as ArrayLike<number>);
  if (t.dtype === 'int32') return v instanceof Int32Array ? v : Int32Array.from(v as unknown as ArrayLike<number>);
  if (t.dtype === 'bool') return v instanceof Uint8Array ? v : Uint8Array.from(v as unknown as ArrayLike<number>);
  throw new Error(`native kernels: unsupported dtype ${t.dtype}`);
}
export const values = (b: tf.KernelBackend, t: tf.TensorInfo): Float32Array => canonValues(b, t) as Float32Array;
export const int32Values = (b: tf.KernelBackend, t: tf.TensorInfo): Int32Array => canonValues(b, t) as Int32Array;

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);

export const f64 = (xs: readonly number[]): Float64Array => Float64Array.from(xs);

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Strides of `inShape` read along `outShape` (right-aligned numpy broadcasting; 0 where broadcast). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const cs = contiguousStrides(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, d) => {
    const i = d - off;
    return i < 0 || inShape[i] === 1 ? 0 : cs[i];
  });
}

/**
 * Drops size-1 axes and merges neighbours that every operand walks contiguously, so the native loops see the
 * smallest rank (an elementwise op over [8, 3136, 384] + [384] becomes [25088, 384]).
 */
export function collapse(shape: readonly number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; ++d) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

export function out(b: tf.KernelBackend, shape: number[], dtype: tf.DataType, vals: tf.backend_util.BackendValues): tf.TensorInfo {
  return cpu(b).makeTensorInfo(shape, dtype, vals);
}

/** A fresh typed array of the dtype's class (float32 / int32 / bool). */
export function alloc(buffers: OutputBufferPool, dtype: tf.DataType, n: number): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return buffers.f32(n);
  if (dtype === 'int32') return new Int32Array(n);
  if (dtype === 'bool') return new Uint8Array(n);
  throw new Error(`native kernels: unsupported dtype ${dtype}`);
}

/** Normalises an axis attribute (number, list, negative) against a rank. */
export function axes(axis: number | number[] | null | undefined, rank: number): number[] {
  if (axis == null) return [...new Array<number>(rank).keys()];
  return tf.util.parseAxisParam(axis, new Array<number>(rank).fill(1));
}
