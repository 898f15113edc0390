import * as tf from '@tensorflow/tfjs';

/**
 * Scaled dot-product attention over head-split tensors: q [..., Nq, d], k/v [..., Nk, d] -> [..., Nq, d].
 * Shared by the comparison attention layers.
 */
export function sdpa(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(scale)), v));
}

/** [B, N, heads·d] -> [B, heads, N, d] */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const [b, n, c] = x.shape;
  return x.reshape([b, n, heads, c / heads]).transpose([0, 2, 1, 3]);
}

/** [B, heads, N, d] -> [B, N, heads·d] */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [b, h, n, d] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([b, n, h * d]);
}

/** Head count and softmax scale of a multi-head layer: `qk_scale` when given, else head_dim^-0.5. */
export function headsAndScale(layer: string, dim: number, numHeads = 8, qkScale?: number | null): { numHeads: number; scale: number } {
  if (dim % numHeads) throw new Error(`${layer}: dim ${dim} must be divisible by num_heads ${numHeads}`);
  return { numHeads, scale: qkScale || (dim / numHeads) ** -0.5 };
}
