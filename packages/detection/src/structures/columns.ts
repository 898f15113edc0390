import * as tf from '@tensorflow/tfjs';

/**
 * The k last-axis columns of `x` as tensors without that axis. On the tfjs CPU backend, slicing or unstacking
 * along the last axis copies element by element (slow for large tensors); one transpose that brings that axis to
 * the front followed by contiguous slices is much faster.
 */
export function columns(x: tf.Tensor, k: number): tf.Tensor[] {
  if (x.shape[x.rank - 1] !== k) throw new Error(`columns: last axis has ${x.shape[x.rank - 1]} entries, expected ${k}`);
  if (x.rank === 1) return tf.unstack(x);
  const perm = [x.rank - 1, ...Array.from({ length: x.rank - 1 }, (_, i) => i)];
  return tf.unstack(x.transpose(perm), 0);
}
