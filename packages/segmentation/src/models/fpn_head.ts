import * as tf from '@tensorflow/tfjs';
import { actCfgFromConfig, buildChild, ConfigError, HEADS, normCfgFromConfig, Conv2d, CrossEntropyLoss, LOSSES, ConvModule, Module, ModuleList, kaimingNormalFanOut, normal, type ActCfg, type ConfigNode, type ConfigOrigin, type NormCfg } from '@litv2/core';
import { resizeBilinear, upsampleBy } from '../ops/resize';
import type { DecodeHead, SegLosses } from './decode_head';
import { Dropout2d } from './dropout2d';
import { segAccuracy } from './losses';

export interface FPNHeadOptions {
  inChannels: number[];
  inIndex: number[];
  featureStrides: number[];
  channels: number;
  numClasses: number;
  dropoutRatio: number;
  normCfg: NormCfg | null;
  actCfg: ActCfg | null;
  alignCorners: boolean;
  ignoreIndex: number;
  /** The built `loss_decode` (a softmax CrossEntropyLoss, mmseg's only decode loss here). */
  lossDecode: CrossEntropyLoss;
}

/** One pyramid level's branch: ConvModules, each followed by a ×2 bilinear upsample except at the finest stride. */
class ScaleHead extends Module {
  /** The Sequential's steps in order (mmseg interleaves ConvModules and weightless Upsample entries). */
  private readonly steps: ('conv' | 'up')[] = [];
  private readonly convs: ConvModule[] = [];
  constructor(private readonly alignCorners: boolean) {
    super();
  }
  /** Adds a ConvModule under the next Sequential index (Upsample entries consume an index but hold no weights). */
  addConv(m: ConvModule, index: number): void {
    this.addModule(String(index), m);
    this.steps.push('conv');
    this.convs.push(m);
  }
  addUpsample(): void {
    this.steps.push('up');
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = x;
      let c = 0;
      for (const s of this.steps) y = s === 'conv' ? this.convs[c++].forward(y) : upsampleBy(y, 2, this.alignCorners);
      return y;
    });
  }
}

/**
 * Semantic FPN head (mmseg FPNHead, Kirillov et al. 2019): per level, max(1, log2(stride/stride₀)) ConvModules
 * (3×3 conv + norm + act), each followed by a ×2 bilinear upsample on the coarser levels; the levels are
 * summed after a bilinear resize to level 0's size (which matters for odd sizes); then Dropout2d and the
 * 1×1 `conv_seg` classifier. Parameter names follow mmseg: `scale_heads.{i}.{k}.conv.weight`, `conv_seg.weight`.
 */
export class FPNHead extends Module implements DecodeHead {
  readonly numClasses: number;
  readonly alignCorners: boolean;
  readonly ignoreIndex: number;
  readonly scaleHeads: ModuleList<ScaleHead>;
  readonly convSeg: Conv2d;
  readonly dropout?: Dropout2d;
  constructor(readonly opts: FPNHeadOptions) {
    super();
    const { inChannels, featureStrides, channels } = opts;
    if (featureStrides.length !== inChannels.length) throw new Error(`FPNHead: ${featureStrides.length} feature_strides for ${inChannels.length} in_channels`);
    if (Math.min(...featureStrides) !== featureStrides[0]) throw new Error('FPNHead: feature_strides[0] must be the smallest stride');
    if (opts.inIndex.length !== inChannels.length) throw new Error(`FPNHead: ${opts.inIndex.length} in_index entries for ${inChannels.length} in_channels`);
    this.numClasses = opts.numClasses;
    this.alignCorners = opts.alignCorners;
    this.ignoreIndex = opts.ignoreIndex;
    this.scaleHeads = this.addModule('scale_heads', new ModuleList<ScaleHead>());
    featureStrides.forEach((stride, i) => {
      // int(log2(s_i) − log2(s_0)) as numpy computes it, at least 1.
      const length = Math.max(1, Math.trunc(Math.log2(stride) - Math.log2(featureStrides[0])));
      const head = new ScaleHead(opts.alignCorners);
      let index = 0;
      for (let k = 0; k < length; k++) {
        const cm = new ConvModule(k === 0 ? inChannels[i] : channels, channels, 3, { padding: 1, normCfg: opts.normCfg, actCfg: opts.actCfg });
        initConvModule(cm);
        head.addConv(cm, index++);
        if (stride !== featureStrides[0]) {
          head.addUpsample();
          index++;
        }
      }
      this.scaleHeads.push(head);
    });
    // mmseg BaseDecodeHead: conv_seg is a 1×1 conv with bias, normal_init(std 0.01), bias 0.
    this.convSeg = this.addModule('conv_seg', new Conv2d(channels, opts.numClasses, 1));
    tf.tidy(() => {
      this.convSeg.weight.assign(normal(this.convSeg.weight.shape, 0.01));
      this.convSeg.bias!.assign(tf.zerosLike(this.convSeg.bias!));
    });
    if (opts.dropoutRatio > 0) this.dropout = this.addModule('dropout', new Dropout2d(opts.dropoutRatio));
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    return tf.tidy(() => {
      const x = this.opts.inIndex.map((j) => {
        const t = inputs.at(j);
        if (!t) throw new Error(`FPNHead: in_index ${j} but only ${inputs.length} inputs`);
        return t;
      });
      let out = this.scaleHeads.at(0).forward(x[0]);
      const size: [number, number] = [out.shape[1], out.shape[2]];
      for (let i = 1; i < x.length; i++) out = out.add(resizeBilinear(this.scaleHeads.at(i).forward(x[i]), size, this.alignCorners));
      return this.clsSeg(out);
    });
  }

  /** Dropout2d (training only) then the 1×1 classifier. */
  clsSeg(feat: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.convSeg.forward(this.dropout ? this.dropout.forward(feat) : feat));
  }

  losses(segLogit: tf.Tensor4D, labels: tf.Tensor3D): SegLosses {
    return tf.tidy(() => {
      const up = resizeBilinear(segLogit, [labels.shape[1], labels.shape[2]], this.alignCorners);
      return {
        loss_seg: this.opts.lossDecode.forwardPixels(up, labels, this.ignoreIndex),
        acc_seg: segAccuracy(up, labels),
      };
    });
  }
}

/** mmcv ConvModule.init_weights: kaiming normal (fan_out, ReLU gain) conv weight, zero bias; norm 1 / 0. */
function initConvModule(m: ConvModule): void {
  const w = m.conv.weight;
  const [kh, kw, , out] = w.shape;
  tf.tidy(() => {
    w.assign(kaimingNormalFanOut(w.shape, out * kh * kw));
    m.conv.bias?.assign(tf.zerosLike(m.conv.bias));
  });
}

/** Reads an optional `norm_cfg` / `act_cfg` node (a mapping with a `type`, or null). */

const num = (v: unknown, key: string, origin: ConfigOrigin): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`expected a number, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${key}` });
  return v;
};
const numList = (v: unknown, key: string, origin: ConfigOrigin): number[] => {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'number')) throw new ConfigError(`expected a list of numbers, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${key}` });
  return v as number[];
};

/** Builds an FPNHead from an mmseg-style config node (keys of FPNHead + BaseDecodeHead). */
export function fpnHeadFromConfig(cfg: ConfigNode, origin: ConfigOrigin): FPNHead {
  const inChannels = numList(cfg.in_channels, 'in_channels', origin);
  const inIndex = typeof cfg.in_index === 'number' ? [cfg.in_index] : numList(cfg.in_index, 'in_index', origin);
  if (cfg.conv_cfg !== null && cfg.conv_cfg !== undefined) throw new ConfigError('only conv_cfg: null (plain Conv2d) is supported', { ...origin, path: `${origin.path}.conv_cfg` });
  if (cfg.sampler !== null && cfg.sampler !== undefined) throw new ConfigError('pixel samplers are not supported (sampler must be null)', { ...origin, path: `${origin.path}.sampler` });
  try {
    return buildFPNHead(cfg, origin, inChannels, inIndex);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError((e as Error).message, origin);
  }
}

/** `loss_decode`: built through LOSSES; decode heads use the softmax CE with mean reduction. */
function lossDecodeFromConfig(node: unknown, origin: ConfigOrigin): CrossEntropyLoss {
  const loss = buildChild(LOSSES, node, origin, [CrossEntropyLoss]);
  if (loss.useSigmoid) throw new ConfigError('use_sigmoid: only the softmax cross-entropy is implemented for decode heads', { ...origin, path: `${origin.path}.use_sigmoid` });
  if (loss.reduction !== 'mean') throw new ConfigError(`reduction '${loss.reduction}': decode heads average over pixels ('mean')`, { ...origin, path: `${origin.path}.reduction` });
  return loss;
}

function buildFPNHead(cfg: ConfigNode, origin: ConfigOrigin, inChannels: number[], inIndex: number[]): FPNHead {
  return new FPNHead({
    inChannels,
    inIndex,
    featureStrides: numList(cfg.feature_strides, 'feature_strides', origin),
    channels: num(cfg.channels, 'channels', origin),
    numClasses: num(cfg.num_classes, 'num_classes', origin),
    dropoutRatio: num(cfg.dropout_ratio, 'dropout_ratio', origin),
    normCfg: normCfgFromConfig(cfg.norm_cfg, { ...origin, path: `${origin.path}.norm_cfg` }),
    actCfg: actCfgFromConfig(cfg.act_cfg, { ...origin, path: `${origin.path}.act_cfg` }),
    alignCorners: Boolean(cfg.align_corners),
    ignoreIndex: num(cfg.ignore_index, 'ignore_index', origin),
    lossDecode: lossDecodeFromConfig(cfg.loss_decode, { ...origin, path: `${origin.path}.loss_decode` }),
  });
}

HEADS.register('FPNHead', {
  defaults: {
    in_channels: undefined as unknown,
    in_index: -1 as unknown,
    feature_strides: undefined as unknown,
    channels: undefined as unknown,
    num_classes: undefined as unknown,
    dropout_ratio: 0.1 as unknown,
    conv_cfg: null as unknown,
    norm_cfg: null as unknown,
    act_cfg: { type: 'ReLU' } as unknown,
    align_corners: false as unknown,
    ignore_index: 255 as unknown,
    sampler: null as unknown,
    loss_decode: { type: 'CrossEntropyLoss', use_sigmoid: false, loss_weight: 1.0 } as unknown,
  },
  build: (cfg, _ctx, origin) => fpnHeadFromConfig(cfg, origin),
});
