import * as tf from '@tensorflow/tfjs';
import { type KernelArgs, type KernelFn, type NativeContext, alloc, canonValues, int32Values, collapse, contiguousStrides, f64, out, sizeOf, values } from './util';
import { transposeData } from './eltwise';

const attr = (args: KernelArgs, name: string): unknown => (args.attrs as Record<string, unknown> | undefined)?.[name];
/** Dtypes whose cpu storage is a 4-byte typed array the native copies can move. */
const word = (t: tf.TensorInfo): boolean => t.dtype === 'float32' || t.dtype === 'int32';

export function layoutKernels(ctx: NativeContext): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};

  k.Transpose = (args) => {
    const { x } = args.inputs;
    const perm = attr(args, 'perm') as number[];
    if (!word(x) && x.dtype !== 'bool') return ctx.original('Transpose')(args);
    const y = transposeData(ctx, canonValues(args.backend, x), x.shape, perm);
    return out(args.backend, perm.map((p) => x.shape[p]), x.dtype, y as Float32Array);
  };

  k.Slice = (args) => {
    const { x } = args.inputs;
    if (!word(x)) return ctx.original('Slice')(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x, attr(args, 'begin') as number[], attr(args, 'size') as number[]);
    tf.slice_util.assertParamsValid(x, begin, size);
    const n = sizeOf(size);
    const y = alloc(ctx.buffers, x.dtype, n);
    if (n > 0) {
      const xs = contiguousStrides(x.shape);
      const offset = begin.reduce((acc, b, d) => acc + b * xs[d], 0);
      const c = collapse(size, [xs]);
      ctx.addon.stridedCopy(canonValues(args.backend, x), offset, y, f64(c.shape), f64(c.strides[0]));
    }
    return out(args.backend, size, x.dtype, y);
  };

  k.SplitV = (args) => {
    const { x } = args.inputs;
    if (!word(x)) return ctx.original('SplitV')(args);
    const axis = tf.util.parseAxisParam(attr(args, 'axis') as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attr(args, 'numOrSizeSplits') as number | number[], axis);
    const xv = canonValues(args.backend, x);
    const xs = contiguousStrides(x.shape);
    let begin = 0;
    return sizes.map((len) => {
      const shape = x.shape.map((d, i) => (i === axis ? len : d));
      const y = alloc(ctx.buffers, x.dtype, sizeOf(shape));
      if (y.length > 0) {
        const c = collapse(shape, [xs]);
        ctx.addon.stridedCopy(xv, begin * xs[axis], y, f64(c.shape), f64(c.strides[0]));
      }
      begin += len;
      return out(args.backend, shape, x.dtype, y);
    });
  };

  k.PadV2 = (args) => {
    const { x } = args.inputs;
    if (!word(x) || x.shape.length === 0 || x.shape.length > 8) return ctx.original('PadV2')(args);
    const paddings = attr(args, 'paddings') as Array<[number, number]>;
    const fill = (attr(args, 'constantValue') as number) ?? 0;
    const yshape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    const y = alloc(ctx.buffers, x.dtype, sizeOf(yshape));
    if (y.length > 0) {
      ctx.addon.pad(canonValues(args.backend, x), y, f64(x.shape), f64(paddings.map((p) => p[0])), f64(yshape), fill, x.dtype === 'int32');
    }
    return out(args.backend, yshape, x.dtype, y);
  };

  k.Concat = (args) => {
    const list = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as tf.TensorInfo[];
    if (list.length === 0 || list.some((t) => !word(t) || t.dtype !== list[0].dtype)) return ctx.original('Concat')(args);
    const axis = tf.util.parseAxisParam(attr(args, 'axis') as number, list[0].shape)[0];
    tf.backend_util.assertParamsConsistent(list.map((t) => t.shape), axis);
    const outShape = tf.backend_util.computeOutShape(list.map((t) => t.shape), axis);
    const y = alloc(ctx.buffers, list[0].dtype, sizeOf(outShape));
    if (y.length > 0) {
      const outer = sizeOf(outShape.slice(0, axis));
      const parts = list.filter((t) => sizeOf(t.shape) > 0);
      ctx.addon.concat(parts.map((t) => canonValues(args.backend, t)), f64(parts.map((t) => sizeOf(t.shape.slice(axis)))), y, outer);
    }
    return out(args.backend, outShape, list[0].dtype, y);
  };

  k.GatherV2 = (args) => {
    const { x, indices } = args.inputs;
    const batchDims = (attr(args, 'batchDims') as number) ?? 0;
    if (!word(x) || indices.dtype !== 'int32' || batchDims !== 0) return ctx.original('GatherV2')(args);
    const axis = tf.util.parseAxisParam(attr(args, 'axis') as number, x.shape)[0];
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const y = alloc(ctx.buffers, x.dtype, sizeOf(outShape));
    const idx = int32Values(args.backend, indices);
    if (y.length > 0 || idx.length > 0) {
      const bad = ctx.addon.gather(canonValues(args.backend, x), idx, y, sizeOf(x.shape.slice(0, axis)), x.shape[axis], sizeOf(x.shape.slice(axis + 1)));
      if (bad >= 0) throw new Error(`GatherV2: the index value ${idx[bad]} is not in [0, ${x.shape[axis] - 1}]`);
    }
    return out(args.backend, outShape, x.dtype, y);
  };

  k.UnsortedSegmentSum = (args) => {
    const { x, segmentIds } = args.inputs;
    const numSegments = attr(args, 'numSegments') as number;
    if (x.dtype !== 'float32' || segmentIds.dtype !== 'int32') return ctx.original('UnsortedSegmentSum')(args);
    const n = sizeOf(segmentIds.shape);
    const innerShape = x.shape.slice(segmentIds.shape.length);
    const inner = sizeOf(innerShape);
    const y = ctx.buffers.f32(numSegments * inner);
    ctx.addon.segmentSum(values(args.backend, x), int32Values(args.backend, segmentIds), y, n, inner, numSegments);
    return out(args.backend, [numSegments, ...innerShape], 'float32', y);
  };
  return k;
}
