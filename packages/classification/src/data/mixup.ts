/**
 * Batch-level augmentation of the recipe (timm `Mixup`, mode 'batch') and the soft targets it trains against:
 * one-hot labels smoothed by `label_smoothing`, then, with probability `prob`, either Mixup (pixel blend with
 * the batch reversed, lam ~ Beta(mixup_alpha)) or CutMix (a box of the reversed batch pasted, lam ~
 * Beta(cutmix_alpha), corrected to the pasted area) — CutMix with probability `switch_prob` when both are on.
 * Works on host arrays before the tensor is made; draws come from a stream seeded by the batch's samples.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, mixSeed, type Sample } from '@litv2/core';
import type { ClsBatch } from '../models/image_classifier';

export interface BatchAugmentOptions {
  mixupAlpha: number;
  cutmixAlpha: number;
  /** Probability of mixing a batch at all. */
  prob: number;
  /** Probability of CutMix instead of Mixup when both alphas are > 0. */
  switchProb: number;
  labelSmoothing: number;
}

export const NO_BATCH_AUGMENT: BatchAugmentOptions = { mixupAlpha: 0, cutmixAlpha: 0, prob: 1, switchProb: 0.5, labelSmoothing: 0 };

/** Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 boosted by U^(1/shape)). */
function gamma(shape: number, rng: Rng): number {
  if (shape < 1) return gamma(shape + 1, rng) * Math.pow(1 - rng.random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      const u1 = 1 - rng.random();
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.random());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, a) draw. */
export function betaSym(a: number, rng: Rng): number {
  const x = gamma(a, rng);
  const y = gamma(a, rng);
  return x / (x + y);
}

/** Smoothed one-hot rows: 1 - s + s/C on the label, s/C elsewhere (timm `one_hot` with on/off values). */
export function smoothOneHot(labels: Int32Array, numClasses: number, smoothing: number): Float32Array {
  const off = smoothing / numClasses;
  const on = 1 - smoothing + off;
  const out = new Float32Array(labels.length * numClasses).fill(off);
  labels.forEach((l, i) => (out[i * numClasses + l] = on));
  return out;
}

export interface MixResult {
  kind: 'none' | 'mixup' | 'cutmix';
  /** Weight of each image's own target (after CutMix's area correction). */
  lam: number;
  /** CutMix box [y0, y1, x0, x1) in pixels. */
  box?: [number, number, number, number];
}

/**
 * Mixes an NHWC float batch in place with its reverse (image i with image n-1-i) and returns the soft targets.
 * `images` holds n images of h x w x c.
 */
export function mixBatch(images: Float32Array, labels: Int32Array, shape: [number, number, number, number], numClasses: number, o: BatchAugmentOptions, rng: Rng): { targets: Float32Array; mix: MixResult } {
  const [n, h, w, c] = shape;
  const y1 = smoothOneHot(labels, numClasses, o.labelSmoothing);
  let mix: MixResult = { kind: 'none', lam: 1 };
  const active = o.mixupAlpha > 0 || o.cutmixAlpha > 0;
  if (active && rng.random() < o.prob) {
    const useCutmix = o.mixupAlpha > 0 && o.cutmixAlpha > 0 ? rng.random() < o.switchProb : o.cutmixAlpha > 0;
    const lam = betaSym(useCutmix ? o.cutmixAlpha : o.mixupAlpha, rng);
    const src = images.slice();
    const img = h * w * c;
    if (useCutmix) {
      // timm rand_bbox: a box of side ratio sqrt(1 - lam) centred at a uniform pixel, clipped to the image.
      const cut = Math.sqrt(1 - lam);
      const ch = Math.floor(h * cut);
      const cw = Math.floor(w * cut);
      const cy = rng.int(h);
      const cx = rng.int(w);
      const yl = Math.min(Math.max(cy - Math.floor(ch / 2), 0), h);
      const yh = Math.min(Math.max(cy + Math.floor(ch / 2), 0), h);
      const xl = Math.min(Math.max(cx - Math.floor(cw / 2), 0), w);
      const xh = Math.min(Math.max(cx + Math.floor(cw / 2), 0), w);
      for (let i = 0; i < n; i++) {
        const from = (n - 1 - i) * img;
        for (let y = yl; y < yh; y++) images.set(src.subarray(from + (y * w + xl) * c, from + (y * w + xh) * c), i * img + (y * w + xl) * c);
      }
      mix = { kind: 'cutmix', lam: 1 - ((yh - yl) * (xh - xl)) / (h * w), box: [yl, yh, xl, xh] };
    } else {
      for (let i = 0; i < n; i++) {
        const a = i * img;
        const b = (n - 1 - i) * img;
        for (let k = 0; k < img; k++) images[a + k] = src[a + k] * lam + src[b + k] * (1 - lam);
      }
      mix = { kind: 'mixup', lam };
    }
  }
  if (mix.kind === 'none') return { targets: y1, mix };
  const targets = new Float32Array(y1.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < numClasses; k++) targets[i * numClasses + k] = y1[i * numClasses + k] * mix.lam + y1[(n - 1 - i) * numClasses + k] * (1 - mix.lam);
  }
  return { targets, mix };
}

/** What the ImageFolder dataset attaches to each sample so the collate knows the classes and the batch recipe. */
export interface ClsSampleExtra {
  label: number;
  numClasses: number;
  batchAugment: BatchAugmentOptions;
}

export function clsExtraOf(s: Sample): ClsSampleExtra {
  const e = s.extra.cls as ClsSampleExtra | undefined;
  if (!e) throw new Error(`sample '${s.info.filename}' has no class label (not from an ImageFolder dataset)`);
  return e;
}

/**
 * Stacks equally sized prepared images into a batch, with the hard labels; when `train`, applies the batch
 * augmentation and attaches the soft targets. The tensors belong to the caller.
 */
export function collateClassification(samples: Sample[], train = true): ClsBatch {
  if (!samples.length) throw new Error('collate: empty batch');
  const first = samples[0].img;
  if (!first) throw new Error(`collate: sample '${samples[0].info.filename}' has no image`);
  const { height: h, width: w, channels: c } = first;
  const n = samples.length;
  const data = new Float32Array(n * h * w * c);
  const labels = new Int32Array(n);
  samples.forEach((s, i) => {
    const im = s.img;
    if (!im || im.height !== h || im.width !== w || im.channels !== c) {
      throw new Error(`collate: sample '${s.info.filename}' is ${im ? `${im.height}x${im.width}x${im.channels}` : 'missing its image'}, expected ${h}x${w}x${c} (crop every image to one size)`);
    }
    data.set(im.data, i * h * w * c);
    labels[i] = clsExtraOf(s).label;
  });
  const metas = samples.map((s) => s.meta);
  if (!train) return { imgs: tf.tensor4d(data, [n, h, w, c]), metas, samples, labels };
  const { numClasses, batchAugment } = clsExtraOf(samples[0]);
  // The per-sample streams are seeded by (loader seed, epoch, index): mixing them gives a batch stream that
  // does not depend on prefetch timing.
  const rng = new Rng(mixSeed(...samples.map((s) => s.rng.getState())));
  const { targets } = mixBatch(data, labels, [n, h, w, c], numClasses, batchAugment, rng);
  const batch: ClsBatch = { imgs: tf.tensor4d(data, [n, h, w, c]), metas, samples, labels, targets: tf.tensor2d(targets, [n, numClasses]) };
  return batch;
}
