import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigOrigin } from '@litv2/core';
import { checkReduction, weightReduceLoss, type Reduction } from './utils';

/**
 * Sigmoid focal loss as mmdet's CPU path (`py_sigmoid_focal_loss`): targets one-hot over C+1 classes with the
 * background column (label C) dropped; loss = BCE-with-logits · (α·t + (1-α)(1-t)) · pt^γ with
 * pt = (1-p)·t + p·(1-t). `pred` (N, C) logits, `labels` (N,) ints in [0, C].
 */
export function sigmoidFocalLoss(
  pred: tf.Tensor2D,
  labels: tf.Tensor1D,
  weight: tf.Tensor | null,
  opts: { gamma?: number; alpha?: number; reduction?: Reduction; avgFactor?: number | tf.Scalar | null } = {},
): tf.Tensor {
  const gamma = opts.gamma ?? 2;
  const alpha = opts.alpha ?? 0.25;
  return tf.tidy(() => {
    const c = pred.shape[1];
    const t = tf.oneHot(labels.toInt(), c + 1).slice([0, 0], [-1, c]).toFloat();
    const p = tf.sigmoid(pred);
    const pt = tf.sub(1, p).mul(t).add(p.mul(tf.sub(1, t)));
    const alphaT = t.mul(alpha).add(tf.sub(1, t).mul(1 - alpha));
    const mod = gamma === 2 ? pt.square() : gamma === 1 ? pt : gamma === 0 ? tf.onesLike(pt) : pt.pow(gamma);
    // Numerically stable BCE with logits: max(x, 0) - x·t + log(1 + exp(-|x|)).
    const bce = tf.relu(pred).sub(pred.mul(t)).add(tf.log1p(tf.exp(tf.abs(pred).neg())));
    return weightReduceLoss(bce.mul(alphaT.mul(mod)), weight, opts.reduction ?? 'mean', opts.avgFactor);
  });
}

export interface FocalLossConfig {
  type?: 'FocalLoss';
  use_sigmoid?: boolean;
  gamma?: number;
  alpha?: number;
  reduction?: Reduction;
  loss_weight?: number;
}

export class FocalLoss {
  readonly gamma: number;
  readonly alpha: number;
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly useSigmoid = true;
  constructor(cfg: FocalLossConfig = {}, origin: ConfigOrigin = { path: 'loss_cls' }) {
    if (cfg.use_sigmoid === false) throw new ConfigError(`FocalLoss only supports use_sigmoid: true`, { ...origin, path: `${origin.path}.use_sigmoid` });
    this.gamma = cfg.gamma ?? 2;
    this.alpha = cfg.alpha ?? 0.25;
    this.reduction = checkReduction(cfg.reduction ?? 'mean', `${origin.path}.reduction`);
    this.lossWeight = cfg.loss_weight ?? 1;
  }
  forward(pred: tf.Tensor2D, labels: tf.Tensor1D, weight: tf.Tensor | null = null, avgFactor?: number | tf.Scalar | null, reductionOverride?: Reduction): tf.Tensor {
    return tf.tidy(() =>
      sigmoidFocalLoss(pred, labels, weight, { gamma: this.gamma, alpha: this.alpha, reduction: reductionOverride ?? this.reduction, avgFactor }).mul(this.lossWeight),
    );
  }
}
