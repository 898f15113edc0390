import * as tf from '@tensorflow/tfjs';
import {
  CLASSIFIERS,
  CLS_BACKBONES,
  ConfigError,
  Module,
  loadPretrained,
  type Batch,
  type ClassificationNet,
  type Classifier,
  type ConfigNode,
  type ConfigOrigin,
  type Param,
  type TrainableModel,
} from '@litv2/core';

export interface TopK {
  index: number;
  /** Class name when a label list is known. */
  label?: string;
  /** Softmax probability. */
  prob: number;
  logit: number;
}

/** A classification batch: images plus the (mixed, smoothed) target distribution and the hard labels. */
export interface ClsBatch extends Batch {
  /** [B, numClasses] soft targets (one-hot, label-smoothed, Mixup/CutMix-blended), rows sum to 1. */
  targets?: tf.Tensor2D;
  /** Hard labels of the unmixed images (evaluation, logging). */
  labels: Int32Array;
}

export interface ImageClassifierOptions {
  /** `{type: Pretrained, checkpoint}` loaded by `loadInitCheckpoints` when a fresh run starts. */
  initCheckpoint?: string;
}

/**
 * An image classifier around any registered classification network (CLS_BACKBONES: LITv2, LeViT,
 * EfficientViT). State-dict keys are the network's own, with no `backbone.` prefix, so official
 * checkpoints (`patch_embed.*`, `layers.*`, `norm.*`, `head.*` for LITv2) load unchanged.
 * Training loss: cross-entropy against the batch's soft targets (DeiT/timm `SoftTargetCrossEntropy`, which
 * with one-hot smoothed targets is `LabelSmoothingCrossEntropy`).
 */
export class ImageClassifier extends Module implements Classifier, TrainableModel<ClsBatch> {
  constructor(readonly backbone: ClassificationNet, readonly opts: ImageClassifierOptions = {}) {
    super();
    this.addModule('backbone', backbone);
  }

  get numClasses(): number {
    return this.backbone.numClasses;
  }

  /** The network's entries under their official names (no wrapper prefix). */
  override namedEntries(prefix = ''): [string, Param][] {
    return this.backbone.namedEntries(prefix);
  }

  forward(x: tf.Tensor4D): tf.Tensor2D {
    return this.backbone.forward(x);
  }

  forwardTrain(batch: ClsBatch): Record<string, tf.Scalar> {
    const targets = batch.targets;
    if (!targets) throw new Error('ImageClassifier.forwardTrain: the batch has no targets (use the classification collate)');
    if (targets.shape[1] !== this.numClasses) {
      throw new Error(`the training set has ${targets.shape[1]} classes but the model has ${this.numClasses} (model.backbone.num_classes)`);
    }
    const logits = this.forward(batch.imgs);
    const out = tf.tidy(() => {
      const loss = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)).mean() as tf.Scalar;
      // Accuracy against the dominant target class (the unmixed label when no mixing happened).
      const acc = tf.equal(tf.argMax(logits, 1), tf.argMax(targets, 1)).toFloat().mean() as tf.Scalar;
      return { loss, acc };
    });
    logits.dispose();
    return { loss_cls: out.loss, acc: out.acc };
  }

  override async loadInitCheckpoints(log: (line: string) => void = () => {}): Promise<void> {
    const file = this.opts.initCheckpoint;
    if (!file) return;
    const r = await loadPretrained(this, file);
    log(`loaded ${file} (missing ${r.missingKeys.length}, unexpected ${r.unexpectedKeys.length})`);
  }

  /** Logits and the k best classes per image (softmax probabilities). */
  async predict(x: tf.Tensor4D, k = 5, labels?: readonly string[]): Promise<{ logits: number[][]; topk: TopK[][] }> {
    const logits = this.forward(x);
    const probs = tf.softmax(logits);
    // Asynchronous reads: a GPU backend (webgpu) cannot read synchronously.
    const [l, p] = (await Promise.all([logits.array(), probs.array()])) as [number[][], number[][]];
    tf.dispose([logits, probs]);
    const topk = l.map((row, b) =>
      row
        .map((logit, index) => ({ index, logit, prob: p[b][index] }))
        .sort((a, c) => c.logit - a.logit || a.index - c.index)
        .slice(0, Math.min(k, row.length))
        .map((t) => (labels?.[t.index] !== undefined ? { ...t, label: labels[t.index] } : t)),
    );
    return { logits: l, topk };
  }
}

export const IMAGE_CLASSIFIER_DEFAULTS: ConfigNode = { backbone: { type: 'LITv2' }, init_cfg: null };

/** Parses `model` of a classification config ({type: ImageClassifier, backbone, init_cfg}). */
export function imageClassifierFromConfig(cfg: ConfigNode, origin: ConfigOrigin): ImageClassifier {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  const bbCfg = cfg.backbone;
  if (!bbCfg || typeof bbCfg !== 'object' || Array.isArray(bbCfg)) throw new ConfigError('expected a mapping with a type', at('backbone'));
  const init = cfg.init_cfg as ConfigNode | null | undefined;
  let initCheckpoint: string | undefined;
  if (init !== null && init !== undefined) {
    if (typeof init !== 'object' || init.type !== 'Pretrained' || typeof init.checkpoint !== 'string') {
      throw new ConfigError(`expected {type: Pretrained, checkpoint: <path>} or null, got ${JSON.stringify(init)}`, at('init_cfg'));
    }
    for (const k of Object.keys(init)) if (k !== 'type' && k !== 'checkpoint') throw new ConfigError(`unknown key '${k}' (expected type, checkpoint)`, at(`init_cfg.${k}`));
    initCheckpoint = init.checkpoint;
  }
  // The random init is skipped when weights are loaded right after.
  const net = CLS_BACKBONES.build(bbCfg as ConfigNode, { init: !initCheckpoint }, at('backbone'));
  return new ImageClassifier(net, { initCheckpoint });
}

if (!CLASSIFIERS.has('ImageClassifier')) {
  CLASSIFIERS.register('ImageClassifier', { defaults: IMAGE_CLASSIFIER_DEFAULTS, build: (cfg, _ctx, origin) => imageClassifierFromConfig(cfg, origin) });
}
