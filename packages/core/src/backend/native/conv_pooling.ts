import * as tf from '@tensorflow/tfjs';
import { NATIVE_OP_CODES } from './op_codes';
import { type KernelArgs, type KernelFn, type NativeContext, f64, out, sizeOf, values, broadcastStrides, collapse } from './util';

/** Activation codes of native/src/kernels.h (`prelu` is left to the tfjs kernels). */
const ACT: Record<string, number> = NATIVE_OP_CODES.act;

const CONV = NATIVE_OP_CODES.conv;

function geom(c: tf.backend_util.Conv2DInfo): Float64Array {
  return f64([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels,
    c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left,
  ]);
}

type A = Record<string, unknown>;
const attrsOf = (args: KernelArgs): A => (args.attrs ?? {}) as A;
const allFloat = (...ts: (tf.TensorInfo | undefined)[]): boolean => ts.every((t) => !t || t.dtype === 'float32');
const nhwc = (fmt: unknown): boolean => fmt === undefined || fmt === 'NHWC';

/** (Batched) matmul with numpy broadcasting of the batch dims, as tfjs' BatchMatMul. */
function matmul(ctx: NativeContext, args: KernelArgs, a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): { y: Float32Array; shape: number[] } {
  const ra = a.shape.length, rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) {
    throw new Error(`Error in matMul: inner shapes (${K}) and (${K2}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transA} and transposeB=${transB} must match.`);
  }
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const batch = sizeOf(batchShape);
  const av = values(args.backend, a), bv = values(args.backend, b);
  const y = ctx.buffers.f32(batch * M * N);
  if (sizeOf(batchB) === 1 && !transA && sizeOf(batchA) === batch) {
    // Shared right operand: fold the batch into the rows of one large GEMM.
    ctx.addon.batchMatMul(av, bv, y, 1, batch * M, N, K, false, transB, f64([0]), f64([0]));
  } else {
    const sa = broadcastStrides(batchA, batchShape), sb = broadcastStrides(batchB, batchShape);
    const aOff = new Float64Array(batch), bOff = new Float64Array(batch);
    for (let i = 0; i < batch; ++i) {
      let rem = i, oa = 0, ob = 0;
      for (let d = batchShape.length - 1; d >= 0; --d) {
        const idx = rem % batchShape[d];
        rem = Math.floor(rem / batchShape[d]);
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      aOff[i] = oa * M * K;
      bOff[i] = ob * K * N;
    }
    ctx.addon.batchMatMul(av, bv, y, batch, M, N, K, transA, transB, aOff, bOff);
  }
  return { y, shape: [...batchShape, M, N] };
}

/** Adds `bias` (broadcast to `shape`) and applies the activation in place. */
function epilogue(ctx: NativeContext, args: KernelArgs, y: Float32Array, shape: number[], bias: tf.TensorInfo | undefined, act: number, alpha: number): Float32Array {
  const cols = shape[shape.length - 1];
  const rows = y.length / Math.max(cols, 1);
  if (!bias) {
    if (act !== ACT.linear) ctx.addon.biasAct(y, rows, cols, null, act, alpha);
    return y;
  }
  const bv = values(args.backend, bias);
  if (sizeOf(bias.shape) === cols && bias.shape[bias.shape.length - 1] === cols) {
    ctx.addon.biasAct(y, rows, cols, bv, act, alpha);
    return y;
  }
  const outShape = tf.broadcast_util.assertAndGetBroadcastShape(shape, bias.shape);
  const c = collapse(outShape, [broadcastStrides(shape, outShape), broadcastStrides(bias.shape, outShape)]);
  const z = ctx.buffers.f32(sizeOf(outShape));
  ctx.addon.binary(NATIVE_OP_CODES.binary.add, y, bv, z, f64(c.shape), f64(c.strides[0]), f64(c.strides[1]));
  if (act !== ACT.linear) ctx.addon.biasAct(z, z.length / Math.max(outShape[outShape.length - 1], 1), outShape[outShape.length - 1], null, act, alpha);
  shape.splice(0, shape.length, ...outShape);
  return z;
}

export function convPoolingKernels(ctx: NativeContext): Record<string, KernelFn> {
  const k: Record<string, KernelFn> = {};

  k.BatchMatMul = (args) => {
    const { a, b } = args.inputs;
    const at = attrsOf(args);
    if (!allFloat(a, b)) return ctx.original('BatchMatMul')(args);
    const r = matmul(ctx, args, a, b, !!at.transposeA, !!at.transposeB);
    return out(args.backend, r.shape, 'float32', r.y);
  };

  k._FusedMatMul = (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const at = attrsOf(args);
    const act = ACT[(at.activation as string) ?? 'linear'];
    if (act === undefined || preluActivationWeights || !allFloat(a, b, bias)) return ctx.original('_FusedMatMul')(args);
    const r = matmul(ctx, args, a, b, !!at.transposeA, !!at.transposeB);
    const y = epilogue(ctx, args, r.y, r.shape, bias, act, (at.leakyreluAlpha as number) ?? 0.2);
    return out(args.backend, r.shape, 'float32', y);
  };

  const convInfo = (xShape: number[], fShape: number[], at: A, depthwise: boolean, dilations: unknown = at.dilations): tf.backend_util.Conv2DInfo =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number], fShape as [number, number, number, number],
      at.strides as [number, number], (dilations ?? 1) as [number, number],
      at.pad as 'same', at.dimRoundingMode as 'floor' | undefined, depthwise, 'channelsLast');

  const forwardConv = (name: string, depthwise: boolean, fused: boolean): KernelFn => (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const at = attrsOf(args);
    const act = fused ? ACT[(at.activation as string) ?? 'linear'] : ACT.linear;
    if (!nhwc(at.dataFormat) || act === undefined || preluActivationWeights || !allFloat(x, filter, bias)) return ctx.original(name)(args);
    const info = convInfo(x.shape, filter.shape, at, depthwise);
    const y = ctx.buffers.f32(sizeOf(info.outShape));
    ctx.addon.conv(depthwise ? CONV.dw : CONV.conv, values(args.backend, x), values(args.backend, filter), y, geom(info));
    const shape = [...info.outShape];
    const z = fused ? epilogue(ctx, args, y, shape, bias, act, (at.leakyreluAlpha as number) ?? 0.2) : y;
    return out(args.backend, shape, 'float32', z);
  };
  k.Conv2D = forwardConv('Conv2D', false, false);
  k.FusedConv2D = forwardConv('FusedConv2D', false, true);
  k.DepthwiseConv2dNative = forwardConv('DepthwiseConv2dNative', true, false);
  k.FusedDepthwiseConv2D = forwardConv('FusedDepthwiseConv2D', true, true);

  k.Conv2DBackpropInput = (args) => {
    const { dy, filter } = args.inputs;
    const at = attrsOf(args);
    if (!nhwc(at.dataFormat) || !allFloat(dy, filter)) return ctx.original('Conv2DBackpropInput')(args);
    const info = convInfo(at.inputShape as number[], filter.shape, at, false, 1);
    const dx = ctx.buffers.f32(sizeOf(info.inShape));
    ctx.addon.conv(CONV.convBackInput, values(args.backend, dy), values(args.backend, filter), dx, geom(info));
    return out(args.backend, [...info.inShape], 'float32', dx);
  };
  k.Conv2DBackpropFilter = (args) => {
    const { x, dy } = args.inputs;
    const at = attrsOf(args);
    if (!nhwc(at.dataFormat) || !allFloat(x, dy)) return ctx.original('Conv2DBackpropFilter')(args);
    const info = convInfo(x.shape, at.filterShape as number[], at, false, 1);
    const dw = ctx.buffers.f32(sizeOf(info.filterShape));
    ctx.addon.conv(CONV.convBackFilter, values(args.backend, x), values(args.backend, dy), dw, geom(info));
    return out(args.backend, [...info.filterShape], 'float32', dw);
  };
  k.DepthwiseConv2dNativeBackpropInput = (args) => {
    const { dy, filter } = args.inputs;
    const at = attrsOf(args);
    if (!allFloat(dy, filter)) return ctx.original('DepthwiseConv2dNativeBackpropInput')(args);
    const info = convInfo(at.inputShape as number[], filter.shape, at, true);
    const dx = ctx.buffers.f32(sizeOf(info.inShape));
    ctx.addon.conv(CONV.dwBackInput, values(args.backend, dy), values(args.backend, filter), dx, geom(info));
    return out(args.backend, [...info.inShape], 'float32', dx);
  };
  k.DepthwiseConv2dNativeBackpropFilter = (args) => {
    const { x, dy } = args.inputs;
    const at = attrsOf(args);
    if (!allFloat(x, dy)) return ctx.original('DepthwiseConv2dNativeBackpropFilter')(args);
    const info = convInfo(x.shape, at.filterShape as number[], at, true);
    const dw = ctx.buffers.f32(sizeOf(info.filterShape));
    ctx.addon.conv(CONV.dwBackFilter, values(args.backend, x), values(args.backend, dy), dw, geom(info));
    return out(args.backend, [...info.filterShape], 'float32', dw);
  };

  const poolInfo = (xShape: number[], at: A): tf.backend_util.Conv2DInfo =>
    tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], at.filterSize as [number, number],
      at.strides as [number, number], 1, at.pad as 'same', at.dimRoundingMode as 'floor' | undefined);
  k.AvgPool = (args) => {
    const { x } = args.inputs;
    if (!allFloat(x)) return ctx.original('AvgPool')(args);
    const info = poolInfo(x.shape, attrsOf(args));
    const y = ctx.buffers.f32(sizeOf(info.outShape));
    ctx.addon.conv(CONV.avgPool, values(args.backend, x), null, y, geom(info));
    return out(args.backend, [...info.outShape], 'float32', y);
  };
  k.AvgPoolGrad = (args) => {
    const { dy, input } = args.inputs;
    if (!allFloat(dy, input)) return ctx.original('AvgPoolGrad')(args);
    const info = poolInfo(input.shape, attrsOf(args));
    const dx = ctx.buffers.f32(sizeOf(input.shape));
    ctx.addon.conv(CONV.avgPoolGrad, values(args.backend, dy), null, dx, geom(info));
    return out(args.backend, [...input.shape], 'float32', dx);
  };
  return k;
}
