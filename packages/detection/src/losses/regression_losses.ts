import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigOrigin, checkReduction, weightReduceLoss, type Reduction, LOSSES, type ConfigNode } from '@litv2/core';

/** |pred - target| element-wise (mmdet `l1_loss`); an empty target gives 0 (still connected to pred). */
export function l1Loss(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null, reduction: Reduction = 'mean', avgFactor?: number | tf.Scalar | null): tf.Tensor {
  return tf.tidy(() => {
    if (target.size === 0) return pred.sum().mul(0);
    return weightReduceLoss(tf.abs(pred.sub(target)), weight, reduction, avgFactor);
  });
}

/** mmdet `smooth_l1_loss`: 0.5·d²/β where d < β, else d - 0.5·β. */
export function smoothL1Loss(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null, beta = 1, reduction: Reduction = 'mean', avgFactor?: number | tf.Scalar | null): tf.Tensor {
  if (!(beta > 0)) throw new Error(`smoothL1Loss: beta must be > 0, got ${beta}`);
  return tf.tidy(() => {
    if (target.size === 0) return pred.sum().mul(0);
    const d = tf.abs(pred.sub(target));
    // step(β - d) = [d < β]; a comparison op would have no gradient in tfjs.
    const quad = tf.step(tf.sub(beta, d));
    const loss = quad.mul(d.square().mul(0.5 / beta)).add(tf.sub(1, quad).mul(d.sub(0.5 * beta)));
    return weightReduceLoss(loss, weight, reduction, avgFactor);
  });
}

export interface RegressionLossConfig {
  type?: 'L1Loss' | 'SmoothL1Loss';
  beta?: number;
  reduction?: Reduction;
  loss_weight?: number;
}

export class L1Loss {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  constructor(cfg: RegressionLossConfig = {}, origin: ConfigOrigin = { path: 'loss_bbox' }) {
    this.reduction = checkReduction(cfg.reduction ?? 'mean', origin);
    this.lossWeight = cfg.loss_weight ?? 1;
  }
  forward(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null = null, avgFactor?: number | tf.Scalar | null, reductionOverride?: Reduction): tf.Tensor {
    return tf.tidy(() => l1Loss(pred, target, weight, reductionOverride ?? this.reduction, avgFactor).mul(this.lossWeight));
  }
}

export class SmoothL1Loss {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly beta: number;
  constructor(cfg: RegressionLossConfig = {}, origin: ConfigOrigin = { path: 'loss_bbox' }) {
    this.reduction = checkReduction(cfg.reduction ?? 'mean', origin);
    this.lossWeight = cfg.loss_weight ?? 1;
    this.beta = cfg.beta ?? 1;
    if (!(this.beta > 0)) throw new ConfigError(`beta must be > 0`, { ...origin, path: `${origin.path}.beta` });
  }
  forward(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null = null, avgFactor?: number | tf.Scalar | null, reductionOverride?: Reduction): tf.Tensor {
    return tf.tidy(() => smoothL1Loss(pred, target, weight, this.beta, reductionOverride ?? this.reduction, avgFactor).mul(this.lossWeight));
  }
}

const lossWeightNumber = (cfg: ConfigNode, origin: ConfigOrigin): void => {
  if (typeof cfg.loss_weight !== 'number') throw new ConfigError(`loss_weight must be a number, got ${JSON.stringify(cfg.loss_weight)}`, { ...origin, path: `${origin.path}.loss_weight` });
};

LOSSES.register('L1Loss', {
  defaults: { reduction: 'mean', loss_weight: 1 } as ConfigNode,
  build: (cfg, _ctx, origin) => {
    lossWeightNumber(cfg, origin);
    return new L1Loss(cfg as RegressionLossConfig, origin);
  },
});

LOSSES.register('SmoothL1Loss', {
  defaults: { beta: 1, reduction: 'mean', loss_weight: 1 } as ConfigNode,
  build: (cfg, _ctx, origin) => {
    lossWeightNumber(cfg, origin);
    return new SmoothL1Loss(cfg as RegressionLossConfig, origin);
  },
});
