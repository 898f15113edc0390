import * as tf from '@tensorflow/tfjs';
import { geluGradient, geluValue } from '../backend/fused_ops';

// GELU and its gradient are fused ops (one kernel where the backend has one); nn exports them under these names.
export { geluGradient, geluValue };

/**
 * Ops whose gradient keeps only what their backward pass needs.
 *
 * tfjs' gradient configs save inputs that are only needed for their shapes (Add, Sub, Reshape save both
 * operands, Relu its input, a matmul's output is kept alive by the Reshape after it), so a composite layer
 * keeps 2-3 copies of each activation on the tape. Each op here is one `tf.customGrad` node that saves the
 * tensors its gradient reads and captures shapes in the closure. Forward values are computed by the same
 * kernels in the same order as the plain compositions, and the backward passes mirror tfjs' own gradient
 * functions op for op, so results are identical, not just close.
 */

type Args = (tf.Tensor | tf.GradSaveFunc)[];
const tensors = (args: Args, n: number) => args.slice(0, n) as tf.Tensor[];
const saveOf = (args: Args, n: number) => args[n] as tf.GradSaveFunc;
/** All axes but the last: a bias broadcast along the channels sums its gradient over these. */
const leadAxes = (t: tf.Tensor) => [...Array(t.rank - 1).keys()];

/** Reshape that saves nothing (tfjs' Reshape keeps its input alive only to read its shape). */
const viewOp = (shape: number[]) =>
  tf.customGrad((...args: Args) => {
    const [x] = tensors(args, 1);
    return { value: x.reshape(shape), gradFunc: (dy: tf.Tensor) => dy.reshape(x.shape) };
  });
export function view<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R> {
  return viewOp(shape)(x) as tf.Tensor<R>;
}

/** a + b for equal shapes, saving nothing (tfjs' Add saves both operands for broadcasting). */
const addSame = tf.customGrad((...args: Args) => {
  const [a, b] = tensors(args, 2);
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [dy.clone(), dy.clone()] };
});
export function add<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  if (a.shape.join(',') !== b.shape.join(',')) return tf.add(a, b) as T;
  return addSame(a, b) as T;
}

/** x / keep · mask (DropPath, PyTorch's order), saving only the per-sample mask. */
export const dropPathScale = (keep: number) =>
  tf.customGrad((...args: Args) => {
    const [x, mask] = tensors(args, 2);
    saveOf(args, 2)([mask]);
    return {
      value: x.div(keep).mul(mask),
      gradFunc: (dy: tf.Tensor, [m]: tf.Tensor[]) => [dy.mul(m).div(keep), tf.zerosLike(m)],
    };
  }) as (x: tf.Tensor, mask: tf.Tensor) => tf.Tensor;

/** x·W (+ b) over the last axis, saving x and W. */
const linearOp = (withBias: boolean) =>
  tf.customGrad((...args: Args) => {
    const n = withBias ? 3 : 2;
    const [x, w, b] = tensors(args, n);
    saveOf(args, n)([x, w]);
    const [cin, cout] = w.shape;
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(x.reshape([-1, cin]), w).reshape([...lead, cout]);
    return {
      value: b ? tf.add(y, b) : y,
      gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
        const dy2 = dy.reshape([-1, cout]);
        const dx = tf.matMul(dy2, sw, false, true).reshape(sx.shape);
        const dw = tf.matMul(sx.reshape([-1, cin]), dy2, true, false);
        return withBias ? [dx, dw, dy.sum(leadAxes(dy))] : [dx, dw];
      },
    };
  });
const linearBias = linearOp(true);
const linearNoBias = linearOp(false);
/** x [..., in] · W [in, out] + b [out]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  return b ? linearBias(x, w, b) : linearNoBias(x, w);
}

/**
 * GELU(x)·W + b (ConvFFN's activation and second linear), saving x and W: the activation is recomputed in
 * the backward pass (one elementwise op) instead of keeping a second hidden-width tensor.
 */
const geluLinearOp = tf.customGrad((...args: Args) => {
  const [x, w, b] = tensors(args, 3);
  saveOf(args, 3)([x, w]);
  const [cin, cout] = w.shape;
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(geluValue(x).reshape([-1, cin]), w).reshape([...lead, cout]);
  return {
    value: tf.add(y, b),
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const dy2 = dy.reshape([-1, cout]);
      const dh = tf.matMul(dy2, sw, false, true).reshape(sx.shape);
      const dw = tf.matMul(geluValue(sx).reshape([-1, cin]), dy2, true, false);
      return [geluGradient(sx, dh), dw, dy.sum(leadAxes(dy))];
    },
  };
});
export function geluLinear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return geluLinearOp(x, w, b);
}

export interface LeanConvOptions {
  strides: [number, number];
  pad: 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  dilations: [number, number];
  depthwise: boolean;
  relu: boolean;
}

/**
 * act(conv(x, W) + b) on NHWC maps (regular or depth-wise), saving x, W and, with ReLU, the output (its
 * gradient mask), instead of the conv output, the biased output and the ReLU input.
 */
const convOp = (o: LeanConvOptions) =>
  tf.customGrad((...args: Args) => {
    const [x, w, b] = tensors(args, 3);
    const save = saveOf(args, 3);
    const conv = o.depthwise
      ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, o.strides, o.pad, 'NHWC', o.dilations)
      : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, o.strides, o.pad, 'NHWC', o.dilations);
    const biased = tf.add(conv, b);
    const y = o.relu ? tf.relu(biased) : biased;
    save(o.relu ? [x, w, y] : [x, w]);
    const kernel = o.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
    const attrs = { strides: o.strides, pad: o.pad, dataFormat: 'NHWC', dilations: o.dilations, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved;
        const dz = o.relu ? tf.mul(dy, tf.step(sy).cast('float32')) : dy;
        const g = tf.getGradient(kernel).gradFunc(dz, [sx, sw], attrs) as Record<string, () => tf.Tensor>;
        return [g.x(), g.filter(), dz.sum(leadAxes(dz))];
      },
    };
  }) as (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;
const convOps = new Map<string, ReturnType<typeof convOp>>();
export function conv2dBias(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, o: LeanConvOptions): tf.Tensor4D {
  const key = JSON.stringify(o);
  let op = convOps.get(key);
  if (!op) convOps.set(key, (op = convOp(o)));
  return op(x, w, b);
}

/**
 * softmax(q·kᵀ·scale)·v over the last two axes ([..., N, d] queries, [..., M, d] keys/values), saving q, k,
 * v and the attention weights (not the raw and scaled logits).
 */
const attentionOp = (scale: number) =>
  tf.customGrad((...args: Args) => {
    const [q, k, v] = tensors(args, 3);
    const p = tf.softmax(tf.matMul(q, k, false, true).mul(scale));
    saveOf(args, 3)([q, k, v, p]);
    return {
      value: tf.matMul(p, v),
      gradFunc: (dy: tf.Tensor, [sq, sk, sv, sp]: tf.Tensor[]) => {
        const dp = tf.matMul(dy, sv, false, true);
        const dv = tf.matMul(sp, dy, true, false);
        const dpp = tf.mul(dp, sp);
        const ds = tf.sub(dpp, tf.mul(tf.sum(dpp, [-1], true), sp)).mul(scale);
        return [tf.matMul(ds, sk, false, false), tf.matMul(ds, sq, true, false), dv];
      },
    };
  });
const attentionOps = new Map<number, ReturnType<typeof attentionOp>>();
export function attention<T extends tf.Tensor>(q: T, k: tf.Tensor, v: tf.Tensor, scale: number): T {
  let op = attentionOps.get(scale);
  if (!op) attentionOps.set(scale, (op = attentionOp(scale)));
  return op(q, k, v) as T;
}

/** Sum of all elements, saving nothing (tfjs' Sum keeps its input alive only for its shape). */
const sumAllOp = tf.customGrad((...args: Args) => {
  const [x] = tensors(args, 1);
  return { value: tf.sum(x), gradFunc: (dy: tf.Tensor) => dy.reshape(x.shape.map(() => 1)).mul(tf.ones(x.shape)) };
});
export function sumAll(x: tf.Tensor): tf.Scalar {
  return sumAllOp(x) as tf.Scalar;
}
