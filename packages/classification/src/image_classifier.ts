import * as tf from '@tensorflow/tfjs';
import { CLASSIFIERS, CLS_BACKBONES, ConfigError, LITv2, LITV2_CLS_DEFAULTS, type ConfigNode, type ConfigOrigin, type LITv2ClsConfig, type LITv2BuildOptions } from '@litv2/core';

export interface TopK {
  index: number;
  /** Class name when a label list is known. */
  label?: string;
  /** Softmax probability. */
  prob: number;
  logit: number;
}

/**
 * LITv2 image classifier. State-dict keys are exactly the official classification checkpoint's
 * (`patch_embed.*`, `layers.*`, `norm.*`, `head.*`), so released `litv2_{s,m,b}.pth` files load unchanged.
 * Input: NHWC float images already normalised with the ImageNet mean/std.
 */
export class ImageClassifier extends LITv2 {
  constructor(cfg: Partial<LITv2ClsConfig> = {}, opts: LITv2BuildOptions = {}) {
    super({ ...LITV2_CLS_DEFAULTS, ...cfg }, opts);
  }

  /** Logits and the k best classes per image (softmax probabilities). */
  predict(x: tf.Tensor4D, k = 5, labels?: readonly string[]): { logits: number[][]; topk: TopK[][] } {
    const logits = this.forward(x);
    const probs = tf.softmax(logits);
    const l = logits.arraySync() as number[][];
    const p = probs.arraySync() as number[][];
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

export interface ImageClassifierConfig {
  backbone: ConfigNode;
  /** `{type: Pretrained, checkpoint: path}` loads weights after building (see `buildClassifier`). */
  init_cfg: ConfigNode | null;
}

/** Builds an ImageClassifier from a `model` node; the architecture comes from CLS_BACKBONES. */
export function imageClassifierFromConfig(cfg: ConfigNode, origin: ConfigOrigin): ImageClassifier {
  const arch = CLS_BACKBONES.build(cfg.backbone as ConfigNode, undefined, { ...origin, path: `${origin.path}.backbone` }) as Partial<LITv2ClsConfig>;
  try {
    // Skip the random init when weights are loaded right after.
    return new ImageClassifier(arch, { init: !cfg.init_cfg });
  } catch (e) {
    throw new ConfigError((e as Error).message, { ...origin, path: `${origin.path}.backbone` });
  }
}

CLASSIFIERS.register('ImageClassifier', {
  defaults: { backbone: { type: 'LITv2' }, init_cfg: null } as unknown as ConfigNode,
  build: (cfg, _ctx, origin) => imageClassifierFromConfig(cfg, origin),
});
