import * as tf from '@tensorflow/tfjs';

/**
 * For one axis: for every output index, the two source indices and the weight of the second one, with
 * PyTorch's `F.interpolate(mode='bilinear')` rule. align_corners False: src = (dst + 0.5)·in/out − 0.5,
 * negative sources clamp to 0; True: src = dst·(in−1)/(out−1).
 */
export function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean): { lo: Int32Array; hi: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float32Array(outSize);
  // torch computes the scale in float32 (opmath of float); Math.fround keeps the same rounding.
  const scale = alignCorners ? (outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0) : Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    let src = alignCorners ? Math.fround(scale * o) : Math.fround(Math.fround(scale * (o + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const i0 = Math.floor(src);
    lo[o] = i0;
    hi[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    frac[o] = Math.fround(src - i0);
  }
  return { lo, hi, frac };
}

/** Linear interpolation along `axis` (1 = H, 2 = W) of an NHWC tensor, written with gathers (reference form). */
export function lerpAxis(x: tf.Tensor4D, axis: 1 | 2, outSize: number, alignCorners: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const inSize = x.shape[axis];
    if (inSize === outSize) return x.clone();
    const { lo, hi, frac } = bilinearTaps(inSize, outSize, alignCorners);
    const f = tf.tensor(frac, axis === 1 ? [1, outSize, 1, 1] : [1, 1, outSize, 1]);
    const a = tf.gather(x, tf.tensor1d(lo, 'int32'), axis);
    const b = tf.gather(x, tf.tensor1d(hi, 'int32'), axis);
    // a + (b − a)·f equals torch's (1−f)·a + f·b up to float rounding (~1 ulp).
    return a.add(b.sub(a).mul(f)) as tf.Tensor4D;
  });
}

/**
 * For sorted source indices `idx` (one per output position), the output range [start_i, end_i) that
 * reads source i. Both lo and hi taps are non-decreasing in the output index, so ranges are contiguous.
 */
function segmentBounds(idx: Int32Array, inSize: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(inSize);
  const end = new Int32Array(inSize);
  let o = 0;
  for (let i = 0; i < inSize; i++) {
    while (o < idx.length && idx[o] < i) o++;
    start[i] = o;
    let e = o;
    while (e < idx.length && idx[e] === i) e++;
    end[i] = e;
  }
  return { start, end };
}

/**
 * Adjoint of `lerpAxis`: scatters dY (size `out` along `axis`) back onto `inSize` source positions. Each
 * source position receives a contiguous run of outputs, so the scatter is a difference of prefix sums,
 * O(size) with tfjs kernels (tfjs' own gather gradient, unsortedSegmentSum, is O(size·segments) on CPU).
 */
function lerpAxisAdjoint(dy: tf.Tensor4D, axis: 1 | 2, inSize: number, alignCorners: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const outSize = dy.shape[axis];
    if (inSize === outSize) return dy.clone();
    const { lo, hi, frac } = bilinearTaps(inSize, outSize, alignCorners);
    const shape = axis === 1 ? [1, outSize, 1, 1] : [1, 1, outSize, 1];
    const f = tf.tensor(frac, shape);
    const pad: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pad[axis] = [1, 0];
    const scatter = (w: tf.Tensor, idx: Int32Array): tf.Tensor => {
      const { start, end } = segmentBounds(idx, inSize);
      const cs = tf.pad(tf.cumsum(dy.mul(w), axis), pad);
      return tf.gather(cs, tf.tensor1d(end, 'int32'), axis).sub(tf.gather(cs, tf.tensor1d(start, 'int32'), axis));
    };
    return scatter(tf.scalar(1).sub(f), lo).add(scatter(f, hi)) as tf.Tensor4D;
  });
}

/**
 * Bilinear resize of an NHWC batch to `size` = [h, w], identical to mmseg's `resize` /
 * `F.interpolate(size=..., mode='bilinear', align_corners)`. The forward pass is tfjs' ResizeBilinear kernel
 * (halfPixelCenters when align_corners is False, which is PyTorch's rule); the gradient is our own, because
 * tfjs' CPU ResizeBilinearGrad ignores halfPixelCenters (and mislabels H/W for non-square maps).
 */
export function resizeBilinear(x: tf.Tensor4D, size: [number, number], alignCorners = false): tf.Tensor4D {
  const [h, w] = size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new Error(`resizeBilinear: invalid size [${size}]`);
  if (x.shape[1] === h && x.shape[2] === w) return x.clone();
  const [, inH, inW] = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.image.resizeBilinear(args[0] as tf.Tensor4D, [h, w], alignCorners, !alignCorners),
    gradFunc: (dy: tf.Tensor) => tf.tidy(() => lerpAxisAdjoint(lerpAxisAdjoint(dy as tf.Tensor4D, 2, inW, alignCorners), 1, inH, alignCorners)),
  }));
  return op(x) as tf.Tensor4D;
}

/** mmseg `Upsample(scale_factor)`: the output size is int(in·factor), then a plain bilinear resize. */
export function upsampleBy(x: tf.Tensor4D, factor: number, alignCorners = false): tf.Tensor4D {
  return resizeBilinear(x, [Math.floor(x.shape[1] * factor), Math.floor(x.shape[2] * factor)], alignCorners);
}
