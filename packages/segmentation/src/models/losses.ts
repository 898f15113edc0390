import * as tf from '@tensorflow/tfjs';
import { ConfigError, type ConfigNode } from '@litv2/core';

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

/**
 * mmseg 0.13 `accuracy` (top-1): percentage of pixels whose argmax equals the label, divided by the total
 * pixel count including ignored pixels (which can never match, since 255 is not a class).
 */
export function segAccuracy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const pred = tf.argMax(logits, -1);
    return pred.equal(labels.toInt()).toFloat().sum().mul(100 / labels.size) as tf.Scalar;
  });
}

/** The `loss_decode` config of a decode head, validated. */
export interface LossDecodeCfg {
  type: 'CrossEntropyLoss';
  use_sigmoid: boolean;
  use_mask: boolean;
  reduction: 'mean';
  class_weight: number[] | null;
  loss_weight: number;
}

export function parseLossDecode(node: unknown, origin: string): LossDecodeCfg {
  if (!node || typeof node !== 'object' || Array.isArray(node)) throw new ConfigError('expected a mapping', { path: origin });
  const n = node as ConfigNode;
  const allowed = new Set(['type', 'use_sigmoid', 'use_mask', 'reduction', 'class_weight', 'loss_weight']);
  for (const k of Object.keys(n)) if (!allowed.has(k)) throw new ConfigError(`unknown key '${k}' for CrossEntropyLoss`, { path: `${origin}.${k}` });
  if (n.type !== 'CrossEntropyLoss') throw new ConfigError(`unsupported loss type '${String(n.type)}' (only CrossEntropyLoss)`, { path: `${origin}.type` });
  if (n.use_sigmoid) throw new ConfigError('use_sigmoid: only the softmax cross-entropy is implemented', { path: `${origin}.use_sigmoid` });
  if (n.use_mask) throw new ConfigError('use_mask is not supported for semantic segmentation', { path: `${origin}.use_mask` });
  const reduction = n.reduction ?? 'mean';
  if (reduction !== 'mean') throw new ConfigError(`reduction '${String(reduction)}': only 'mean' is supported`, { path: `${origin}.reduction` });
  const cw = n.class_weight ?? null;
  if (cw !== null && (!Array.isArray(cw) || cw.some((v) => typeof v !== 'number'))) throw new ConfigError('class_weight must be a list of numbers or null', { path: `${origin}.class_weight` });
  const lw = n.loss_weight ?? 1;
  if (typeof lw !== 'number') throw new ConfigError('loss_weight must be a number', { path: `${origin}.loss_weight` });
  return { type: 'CrossEntropyLoss', use_sigmoid: false, use_mask: false, reduction: 'mean', class_weight: cw as number[] | null, loss_weight: lw };
}
