import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { LOSSES } from '../registry/registries';
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

export interface SegCrossEntropyOptions {
  /** Label value that contributes nothing (mmseg default 255). */
  ignoreIndex?: number;
  /** Per-class weights passed to the softmax CE, as `F.cross_entropy(weight=...)`. */
  classWeight?: number[] | null;
  lossWeight?: number;
}

/**
 * mmseg 0.13 `CrossEntropyLoss` (softmax) on NHWC logits [B, H, W, C] and int labels [B, H, W]: per-pixel
 * −w[y]·log softmax(x)[y], 0 at ignored pixels, then the mean over ALL B·H·W pixels (ignored ones count in
 * the denominator; so does a class-weighted loss: the divisor stays the pixel count), times `lossWeight`.
 */
export function segCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D, opts: SegCrossEntropyOptions = {}): tf.Scalar {
  const ignoreIndex = opts.ignoreIndex ?? 255;
  const lossWeight = opts.lossWeight ?? 1;
  const [b, h, w, c] = logits.shape;
  if (labels.shape[0] !== b || labels.shape[1] !== h || labels.shape[2] !== w) {
    throw new Error(`segCrossEntropy: labels [${labels.shape}] do not match logits [${logits.shape}] (B, H, W)`);
  }
  if (opts.classWeight && opts.classWeight.length !== c) {
    throw new Error(`segCrossEntropy: class_weight has ${opts.classWeight.length} entries for ${c} classes`);
  }
  return tf.tidy(() => {
    const lab = labels.toInt();
    const valid = lab.notEqual(tf.scalar(ignoreIndex, 'int32'));
    const safe = tf.where(valid, lab, tf.zerosLike(lab));
    const logp = tf.logSoftmax(logits, -1);
    const onehot = tf.oneHot(safe.reshape([-1]), c).reshape([b, h, w, c]).toFloat();
    let perPixel = logp.mul(onehot).sum(-1).neg();
    if (opts.classWeight) perPixel = perPixel.mul(tf.gather(tf.tensor1d(opts.classWeight), safe));
    const loss = perPixel.mul(valid.toFloat()).sum().div(b * h * w);
    return (lossWeight === 1 ? loss : loss.mul(lossWeight)) as tf.Scalar;
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

/**
 * mmdet 2.11 / mmseg 0.13 `CrossEntropyLoss` (the softmax form both use): `forward` for (N, C) scores as the
 * detection heads call it, `forwardPixels` for NHWC logits and a label map as the decode heads call it.
 */

export class CrossEntropyLoss {
  readonly reduction: Reduction;
  readonly lossWeight: number;
  readonly classWeight: number[] | null;
  readonly useSigmoid = false;
  constructor(cfg: CrossEntropyLossConfig = {}, origin: ConfigOrigin = { path: 'loss_cls' }) {
    if (cfg.use_sigmoid || cfg.use_mask) throw new ConfigError(`only the softmax CrossEntropyLoss is supported (use_sigmoid/use_mask false)`, { ...origin, path: `${origin.path}.${cfg.use_sigmoid ? 'use_sigmoid' : 'use_mask'}` });
    this.reduction = checkReduction(cfg.reduction ?? 'mean', origin);
    this.lossWeight = cfg.loss_weight ?? 1;
    this.classWeight = cfg.class_weight ?? null;
  }
  /** Per-pixel loss of a decode head: mean over all B·H·W pixels (mmseg), `ignoreIndex` pixels count as 0. */
  forwardPixels(logits: tf.Tensor4D, labels: tf.Tensor3D, ignoreIndex: number): tf.Scalar {
    if (this.reduction !== 'mean') throw new Error(`CrossEntropyLoss.forwardPixels: only reduction 'mean' (mmseg), got '${this.reduction}'`);
    return segCrossEntropy(logits, labels, { ignoreIndex, classWeight: this.classWeight, lossWeight: this.lossWeight });
  }

  forward(pred: tf.Tensor2D, labels: tf.Tensor1D, weight: tf.Tensor | null = null, avgFactor?: number | tf.Scalar | null, reductionOverride?: Reduction): tf.Tensor {
    return tf.tidy(() =>
      softmaxCrossEntropy(pred, labels, weight, { reduction: reductionOverride ?? this.reduction, avgFactor, classWeight: this.classWeight }).mul(this.lossWeight),
    );
  }
}

LOSSES.register('CrossEntropyLoss', {
  defaults: { use_sigmoid: false, use_mask: false, reduction: 'mean', class_weight: null, loss_weight: 1 } as ConfigNode,
  build: (cfg, _ctx, origin) => {
    const cw = cfg.class_weight;
    if (cw !== null && (!Array.isArray(cw) || cw.some((v) => typeof v !== 'number'))) throw new ConfigError('class_weight must be a list of numbers or null', { ...origin, path: `${origin.path}.class_weight` });
    if (typeof cfg.loss_weight !== 'number') throw new ConfigError(`loss_weight must be a number, got ${JSON.stringify(cfg.loss_weight)}`, { ...origin, path: `${origin.path}.loss_weight` });
    return new CrossEntropyLoss(cfg as CrossEntropyLossConfig, origin);
  },
});
