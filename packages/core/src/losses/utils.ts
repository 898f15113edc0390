import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigOrigin } from '../registry/registry';

export type Reduction = 'none' | 'mean' | 'sum';

/**
 * mmdet `weight_reduce_loss`: element-wise weight, then 'mean' divides the sum by `avgFactor` when given
 * (otherwise the plain mean over all elements), 'sum' sums, 'none' keeps the shape. A (N,) weight on a (N, K)
 * loss is broadcast per row.
 */
export function weightReduceLoss(loss: tf.Tensor, weight: tf.Tensor | null | undefined, reduction: Reduction, avgFactor?: number | tf.Scalar | null): tf.Tensor {
  return tf.tidy(() => {
    let l = loss;
    if (weight) {
      const w = weight.rank === 1 && l.rank === 2 ? weight.expandDims(1) : weight;
      l = l.mul(w.toFloat());
    }
    if (avgFactor === undefined || avgFactor === null) {
      if (reduction === 'mean') return l.mean();
      if (reduction === 'sum') return l.sum();
      return l;
    }
    if (reduction === 'mean') return l.sum().div(avgFactor);
    if (reduction === 'none') return l;
    throw new Error(`avg_factor can not be used with reduction="sum"`);
  });
}

export function checkReduction(r: unknown, origin: ConfigOrigin): Reduction {
  if (r === 'none' || r === 'mean' || r === 'sum') return r;
  throw new ConfigError(`reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(r)}`, { ...origin, path: `${origin.path}.reduction` });
}
