import * as tf from '@tensorflow/tfjs';
import { LITv2, LITV2_CLS_DEFAULTS, type LITv2ClsConfig, type LITv2BuildOptions } from '@litv2/core';

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

  /** Logits and the k best classes per image (softmax probabilities); reads back asynchronously (GPU backends). */
  async predict(x: tf.Tensor4D, k = 5, labels?: readonly string[]): Promise<{ logits: number[][]; topk: TopK[][] }> {
    const logits = this.forward(x);
    const probs = tf.softmax(logits);
    const l = (await logits.array()) as number[][];
    const p = (await probs.array()) as number[][];
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
