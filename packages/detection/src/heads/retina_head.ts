import * as tf from '@tensorflow/tfjs';
import { ConfigError, Conv2d, ConvModule, HEADS, normCfgFromConfig, ModuleList, nextSeed, setParam, type ConfigNode, type ConfigOrigin, type NormCfg } from '@litv2/core';
import { AnchorHead, ANCHOR_HEAD_DEFAULTS, anchorHeadPartsFromConfig, type AnchorHeadParts } from './anchor_head';

export interface RetinaHeadLayers {
  inChannels: number;
  featChannels: number;
  stackedConvs: number;
  normCfg: NormCfg | null;
}

/** mmcv `bias_init_with_prob`. */
export function biasInitWithProb(p: number): number {
  return -Math.log((1 - p) / p);
}

/**
 * mmdet 2.11 RetinaHead: `stacked_convs` 3×3 conv+ReLU towers (`cls_convs.i.conv`, `reg_convs.i.conv`) and the
 * `retina_cls` / `retina_reg` 3×3 convs. Targets, losses and post-processing are AnchorHead's.
 */
export class RetinaHead extends AnchorHead {
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly retinaCls: Conv2d;
  readonly retinaReg: Conv2d;

  constructor(parts: AnchorHeadParts, layers: RetinaHeadLayers) {
    super(parts);
    const { inChannels, featChannels: feat, stackedConvs, normCfg } = layers;
    this.clsConvs = this.addModule('cls_convs', new ModuleList<ConvModule>());
    this.regConvs = this.addModule('reg_convs', new ModuleList<ConvModule>());
    for (let i = 0; i < stackedConvs; i++) {
      const chn = i === 0 ? inChannels : feat;
      this.clsConvs.push(new ConvModule(chn, feat, 3, { padding: 1, normCfg }));
      this.regConvs.push(new ConvModule(chn, feat, 3, { padding: 1, normCfg }));
    }
    const last = stackedConvs > 0 ? feat : inChannels;
    this.retinaCls = this.addModule('retina_cls', new Conv2d(last, this.numAnchors * this.numClasses, 3, { padding: 1 }));
    this.retinaReg = this.addModule('retina_reg', new Conv2d(last, this.numAnchors * 4, 3, { padding: 1 }));
    this.initWeights();
  }

  /** mmdet RetinaHead.init_weights: N(0, 0.01) conv weights, zero biases, retina_cls bias = prior prob 0.01. */
  initWeights(): void {
    const convs = [...this.clsConvs.items.map((m) => m.conv), ...this.regConvs.items.map((m) => m.conv), this.retinaCls, this.retinaReg];
    for (const c of convs) {
      setParam(c.weight, tf.randomNormal(c.weight.shape, 0, 0.01, 'float32', nextSeed()));
      if (c.bias) setParam(c.bias, tf.zerosLike(c.bias));
    }
    setParam(this.retinaCls.bias!, tf.fill(this.retinaCls.bias!.shape, biasInitWithProb(0.01)));
  }

  forwardSingle(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      let c = x;
      let r = x;
      for (const m of this.clsConvs) c = m.forward(c);
      for (const m of this.regConvs) r = m.forward(r);
      return [this.retinaCls.forward(c), this.retinaReg.forward(r)];
    });
  }
}

/** Builds a RetinaHead from an mmdet config node (children through their registries). */
export function retinaHeadFromConfig(cfg: ConfigNode, origin: ConfigOrigin): RetinaHead {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  const stacked = cfg.stacked_convs;
  if (!Number.isInteger(stacked) || (stacked as number) < 0) throw new ConfigError(`stacked_convs must be an integer >= 0, got ${JSON.stringify(stacked)}`, at('stacked_convs'));
  if (cfg.conv_cfg !== null && cfg.conv_cfg !== undefined) throw new ConfigError('only conv_cfg: null (plain Conv2d) is supported', at('conv_cfg'));
  const parts = anchorHeadPartsFromConfig(cfg, origin);
  return new RetinaHead(parts, { inChannels: cfg.in_channels as number, featChannels: cfg.feat_channels as number, stackedConvs: stacked as number, normCfg: normCfgFromConfig(cfg.norm_cfg, at('norm_cfg')) });
}

HEADS.register('RetinaHead', {
  defaults: {
    ...ANCHOR_HEAD_DEFAULTS,
    stacked_convs: 4,
    conv_cfg: null,
    norm_cfg: null,
    // mmdet 2.11 RetinaHead's own defaults (AnchorHead's are CE + SmoothL1).
    anchor_generator: { type: 'AnchorGenerator', octave_base_scale: 4, scales_per_octave: 3, ratios: [0.5, 1.0, 2.0], strides: [8, 16, 32, 64, 128] },
    loss_cls: { type: 'FocalLoss', use_sigmoid: true, gamma: 2, alpha: 0.25, loss_weight: 1 },
    loss_bbox: { type: 'L1Loss', loss_weight: 1 },
  },
  build: (cfg, _ctx, origin) => retinaHeadFromConfig(cfg, origin),
});
