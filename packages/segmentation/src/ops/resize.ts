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

/** Linear interpolation along `axis` (1 = H, 2 = W) of an NHWC tensor; differentiable through gather. */
function lerpAxis(x: tf.Tensor4D, axis: 1 | 2, outSize: number, alignCorners: boolean): tf.Tensor4D {
  const inSize = x.shape[axis];
  if (inSize === outSize) return x.clone();
  const { lo, hi, frac } = bilinearTaps(inSize, outSize, alignCorners);
  const wShape = axis === 1 ? [1, outSize, 1, 1] : [1, 1, outSize, 1];
  const f = tf.tensor(frac, wShape);
  const a = tf.gather(x, tf.tensor1d(lo, 'int32'), axis);
  const b = tf.gather(x, tf.tensor1d(hi, 'int32'), axis);
  // a + (b − a)·f equals torch's (1−f)·a + f·b up to float rounding (~1 ulp).
  return a.add(b.sub(a).mul(f)) as tf.Tensor4D;
}

/**
 * Bilinear resize of an NHWC batch to `size` = [h, w], identical to mmseg's `resize` /
 * `F.interpolate(size=..., mode='bilinear', align_corners)`. Written as two separable gathers instead of
 * `tf.image.resizeBilinear` because tfjs' CPU ResizeBilinearGrad ignores halfPixelCenters (and swaps H/W),
 * so its gradient would not match PyTorch.
 */
export function resizeBilinear(x: tf.Tensor4D, size: [number, number], alignCorners = false): tf.Tensor4D {
  const [h, w] = size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new Error(`resizeBilinear: invalid size [${size}]`);
  if (x.shape[1] === h && x.shape[2] === w) return x.clone();
  return tf.tidy(() => lerpAxis(lerpAxis(x, 1, h, alignCorners), 2, w, alignCorners));
}

/** mmseg `Upsample(scale_factor)`: the output size is int(in·factor), then a plain bilinear resize. */
export function upsampleBy(x: tf.Tensor4D, factor: number, alignCorners = false): tf.Tensor4D {
  return resizeBilinear(x, [Math.floor(x.shape[1] * factor), Math.floor(x.shape[2] * factor)], alignCorners);
}
