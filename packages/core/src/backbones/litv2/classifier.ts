import * as tf from '@tensorflow/tfjs';
import { LayerNorm, Linear } from '../../nn/layers';
import { LITv2Base, LITV2_ARCH_DEFAULTS, type LITv2ArchConfig, type LITv2BuildOptions } from './base';
import type { Tap } from './blocks';
import { truncLinear } from '../../attention/trunc_linear';
import { litv2Flops } from './flops';
import type { ClassificationNet } from '../../registry/registries';

export interface LITv2ClsConfig extends LITv2ArchConfig {
  img_size: number;
  num_classes: number;
}

export const LITV2_CLS_DEFAULTS: LITv2ClsConfig = { ...LITV2_ARCH_DEFAULTS, img_size: 224, num_classes: 1000 };

/**
 * LITv2 image classifier (official `classification/models/litv2.py`): patch embed, 4 stages with DTMs,
 * final LayerNorm `norm`, mean over tokens, Linear `head`. Input NHWC [B, img_size, img_size, 3].
 */
export class LITv2 extends LITv2Base implements ClassificationNet {
  readonly norm: LayerNorm;
  readonly head?: Linear;
  readonly cfg: LITv2ClsConfig;

  constructor(cfg: Partial<LITv2ClsConfig> = {}, opts: LITv2BuildOptions = {}) {
    const c: LITv2ClsConfig = { ...LITV2_CLS_DEFAULTS, ...cfg };
    super(c, false, opts);
    this.cfg = c;
    const nf = this.numFeatures[this.numFeatures.length - 1];
    this.norm = this.addModule('norm', new LayerNorm(nf));
    if (c.num_classes > 0) this.head = this.addModule('head', truncLinear(nf, c.num_classes, true, opts.init ?? true));
  }

  get numClasses(): number {
    return this.cfg.num_classes;
  }
  get featureDim(): number {
    return this.numFeatures[this.numFeatures.length - 1];
  }
  get imgSize(): number {
    return this.cfg.img_size;
  }

  /** Pooled features [B, num_features] (after the final norm and the token mean). */
  forwardFeatures(x: tf.Tensor4D, tap?: Tap): tf.Tensor2D {
    const [, h, w] = x.shape;
    if (h !== this.cfg.img_size || w !== this.cfg.img_size) {
      throw new Error(`LITv2: input is ${h}x${w} but the model was built for img_size ${this.cfg.img_size} (as the official classifier, it only accepts that size)`);
    }
    const last = this.runStages(x, tap);
    const feats = tf.tidy(() => {
      const n = this.norm.forward(last);
      tap?.('final_norm_out', n);
      return n.mean([1, 2]) as tf.Tensor2D;
    });
    last.dispose();
    tap?.('features', feats);
    return feats;
  }

  /** Logits [B, num_classes] (features when num_classes = 0). */
  forward(x: tf.Tensor4D, tap?: Tap): tf.Tensor2D {
    const feats = this.forwardFeatures(x, tap);
    if (!this.head) return feats;
    const logits = this.head.forward(feats) as tf.Tensor2D;
    feats.dispose();
    tap?.('logits', logits);
    return logits;
  }

  /** The official analytic FLOPs at img_size (SPEC §5). */
  flops(): number {
    const c = this.cfg;
    return litv2Flops({
      imgSize: c.img_size, patchSize: c.patch_size, inChans: c.in_chans, embedDim: c.embed_dim, depths: c.depths, numHeads: c.num_heads,
      mlpRatio: c.mlp_ratio, alpha: c.alpha, localWs: c.local_ws, hasMsa: c.has_msa, numClasses: c.num_classes, patchNorm: c.patch_norm,
    }).total;
  }
}
