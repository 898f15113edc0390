import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigOrigin } from '@litv2/core';
import { checkReduction, weightReduceLoss, type Reduction } from './utils';

/**
 * Softmax cross-entropy per sample (`F.cross_entropy(..., reduction='none')`), optionally scaled by
 * `classWeight[label]`, then mmdet's weight/avg_factor reduction. `pred` (N, C) logits, `labels` (N,).
 */
export function softmaxCrossEntropy(
  pred: tf.Tensor2D,
  labels: tf.Tensor1D,
  weight: tf.Tensor | null,
  opts: { reduction?: Reduction; avgFactor?: number | tf.Scalar | null; classWeight?: number[] | null } = {},
): tf.Tensor {
  return tf.tidy(() => {
    const c = pred.shape[1];
    const onehot = tf.oneHot(labels.toInt(), c).toFloat();
    let loss = tf.logSoftmax(pred).mul(onehot).sum(1).neg();
    if (opts.classWeight) loss = loss.mul(tf.gather(tf.tensor1d(opts.classWeight), labels.toInt()));
    return weightReduceLoss(loss, weight, opts.reduction ?? 'mean', opts.avgFactor);
  });
}

export interface CrossEntropyLossConfig {
  type?: 'CrossEntropyLoss';
  use_sigmoid?: boolean;
  use_mask?: boolean;
  reduction?: Reduction;
  class_weight?: number[] | null;
  loss_weight?: number;
}

export class CrossEntropyLoss {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly classWeight: number[] | null;
  constructor(cfg: CrossEntropyLossConfig = {}, origin: ConfigOrigin = { path: 'loss_cls' }) {
    if (cfg.use_sigmoid || cfg.use_mask) throw new ConfigError(`only the softmax CrossEntropyLoss is supported (use_sigmoid/use_mask false)`, origin);
    this.reduction = checkReduction(cfg.reduction ?? 'mean', `${origin.path}.reduction`);
    this.lossWeight = cfg.loss_weight ?? 1;
    this.classWeight = cfg.class_weight ?? null;
  }
  forward(pred: tf.Tensor2D, labels: tf.Tensor1D, weight: tf.Tensor | null = null, avgFactor?: number | tf.Scalar | null, reductionOverride?: Reduction): tf.Tensor {
    return tf.tidy(() =>
      softmaxCrossEntropy(pred, labels, weight, { reduction: reductionOverride ?? this.reduction, avgFactor, classWeight: this.classWeight }).mul(this.lossWeight),
    );
  }
}
