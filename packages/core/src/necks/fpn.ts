import * as tf from '@tensorflow/tfjs';
import { Module, ModuleList } from '../nn/module';
import { xavierUniform } from '../nn/init';
import { Conv2d } from '../nn/layers';
import { ConfigError, type ConfigOrigin } from '../registry/registry';
import { NECKS, type Neck } from '../registry/registries';
import { actCfgFromConfig, ConvModule, normCfgFromConfig, type ActCfg, type NormCfg } from '../nn/conv_module';
import { setParam } from '../nn/init';

export type ExtraConvsSource = 'on_input' | 'on_lateral' | 'on_output';

export interface FPNConfig {
  in_channels: number[];
  out_channels: number;
  num_outs: number;
  start_level?: number;
  end_level?: number;
  /** false: max-pool extra levels; true: mmdet 2.11 maps it to 'on_input' (extra_convs_on_inputs default). */
  add_extra_convs?: boolean | ExtraConvsSource;
  extra_convs_on_inputs?: boolean;
  relu_before_extra_convs?: boolean;
  no_norm_on_lateral?: boolean;
  conv_cfg?: null;
  norm_cfg?: NormCfg | null;
  act_cfg?: ActCfg | null;
  upsample_cfg?: { mode?: string; scale_factor?: number };
  init_cfg?: unknown;
}

/**
 * Feature Pyramid Network as in mmdet 2.11 / mmseg 0.13: 1×1 lateral convs, top-down nearest upsampling to
 * the finer level's exact size, 3×3 output convs, and optional extra levels (stride-2 convs or 1×1 max-pool).
 * NHWC in and out; parameters `lateral_convs.i.conv.*`, `fpn_convs.i.conv.*`.
 */
export class FPN extends Module implements Neck {
  readonly outChannels: number;
  readonly lateralConvs: ModuleList<ConvModule>;
  readonly fpnConvs: ModuleList<ConvModule>;
  readonly startLevel: number;
  readonly backboneEndLevel: number;
  readonly numOuts: number;
  readonly extraSource: ExtraConvsSource | null;
  readonly reluBeforeExtraConvs: boolean;
  readonly upsampleScale?: number;

  constructor(readonly cfg: FPNConfig, origin: ConfigOrigin = { path: 'neck' }) {
    super();
    const inCh = cfg.in_channels;
    if (!Array.isArray(inCh) || inCh.length === 0 || inCh.some((c) => !Number.isInteger(c) || c <= 0)) {
      throw new ConfigError(`in_channels must be a non-empty list of positive integers, got ${JSON.stringify(inCh)}`, { ...origin, path: `${origin.path}.in_channels` });
    }
    const start = cfg.start_level ?? 0;
    const end = cfg.end_level ?? -1;
    const numIns = inCh.length;
    if (start < 0 || start >= numIns) throw new ConfigError(`start_level ${start} out of range for ${numIns} inputs`, { ...origin, path: `${origin.path}.start_level` });
    if (end === -1) {
      this.backboneEndLevel = numIns;
      if (cfg.num_outs < numIns - start) throw new ConfigError(`num_outs (${cfg.num_outs}) must be >= ${numIns - start} (inputs used from start_level ${start})`, { ...origin, path: `${origin.path}.num_outs` });
    } else {
      // mmdet 2.11: end_level is exclusive and no extra level is allowed when it is set.
      if (end > numIns || end <= start) throw new ConfigError(`end_level ${end} must be in (${start}, ${numIns}]`, { ...origin, path: `${origin.path}.end_level` });
      if (cfg.num_outs !== end - start) throw new ConfigError(`num_outs (${cfg.num_outs}) must equal end_level - start_level (${end - start})`, { ...origin, path: `${origin.path}.num_outs` });
      this.backboneEndLevel = end;
    }
    this.startLevel = start;
    this.numOuts = cfg.num_outs;
    this.outChannels = cfg.out_channels;
    this.reluBeforeExtraConvs = cfg.relu_before_extra_convs ?? false;
    const extra = cfg.add_extra_convs ?? false;
    if (typeof extra === 'string') {
      if (!['on_input', 'on_lateral', 'on_output'].includes(extra)) {
        throw new ConfigError(`add_extra_convs must be false, true, 'on_input', 'on_lateral' or 'on_output', got '${extra}'`, { ...origin, path: `${origin.path}.add_extra_convs` });
      }
      this.extraSource = extra;
    } else if (extra === true) {
      this.extraSource = (cfg.extra_convs_on_inputs ?? true) ? 'on_input' : 'on_output';
    } else {
      this.extraSource = null;
    }
    const up = cfg.upsample_cfg ?? { mode: 'nearest' };
    if ((up.mode ?? 'nearest') !== 'nearest') throw new ConfigError(`only nearest upsampling is supported, got '${up.mode}'`, { ...origin, path: `${origin.path}.upsample_cfg.mode` });
    this.upsampleScale = up.scale_factor;

    const normCfg = cfg.norm_cfg ?? null;
    const actCfg = cfg.act_cfg ?? null;
    const out = cfg.out_channels;
    this.lateralConvs = this.addModule('lateral_convs', new ModuleList<ConvModule>());
    this.fpnConvs = this.addModule('fpn_convs', new ModuleList<ConvModule>());
    for (let i = start; i < this.backboneEndLevel; i++) {
      this.lateralConvs.push(new ConvModule(inCh[i], out, 1, { normCfg: cfg.no_norm_on_lateral ? null : normCfg, actCfg }));
      this.fpnConvs.push(new ConvModule(out, out, 3, { padding: 1, normCfg, actCfg }));
    }
    const extraLevels = cfg.num_outs - this.backboneEndLevel + start;
    if (this.extraSource && extraLevels >= 1) {
      for (let i = 0; i < extraLevels; i++) {
        const cin = i === 0 && this.extraSource === 'on_input' ? inCh[this.backboneEndLevel - 1] : out;
        this.fpnConvs.push(new ConvModule(cin, out, 3, { stride: 2, padding: 1, normCfg, actCfg }));
      }
    }
    this.initWeights();
  }

  /** mmdet FPN.init_weights: xavier-uniform on every conv weight, zero bias. */
  initWeights(): void {
    for (const [, m] of this.namedModules()) {
      if (!(m instanceof Conv2d)) continue;
      const [kh, kw, cin, cout] = m.weight.shape;
      const rf = kh * kw;
      setParam(m.weight, xavierUniform(m.weight.shape, cin * rf, cout * rf));
      if (m.bias) setParam(m.bias, tf.zerosLike(m.bias));
    }
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    if (inputs.length !== this.cfg.in_channels.length) {
      throw new Error(`FPN: expected ${this.cfg.in_channels.length} input maps, got ${inputs.length}`);
    }
    return tf.tidy(() => {
      const laterals = this.lateralConvs.items.map((conv, i) => conv.forward(inputs[i + this.startLevel]));
      for (let i = laterals.length - 1; i > 0; i--) {
        const [, h, w] = laterals[i - 1].shape;
        const src = laterals[i];
        const size: [number, number] = this.upsampleScale
          ? [Math.floor(src.shape[1] * this.upsampleScale), Math.floor(src.shape[2] * this.upsampleScale)]
          : [h, w];
        // Nearest with half_pixel_centers false = PyTorch's legacy 'nearest': src = floor(dst * in / out).
        laterals[i - 1] = laterals[i - 1].add(tf.image.resizeNearestNeighbor(src, size, false, false));
      }
      const used = laterals.length;
      const outs = laterals.map((l, i) => this.fpnConvs.at(i).forward(l));
      if (this.numOuts > used) {
        if (!this.extraSource) {
          // mmdet: F.max_pool2d(x, 1, stride=2) = take every second pixel.
          for (let i = used; i < this.numOuts; i++) outs.push(tf.maxPool(outs[outs.length - 1], 1, 2, 'valid'));
        } else {
          const src = this.extraSource === 'on_input' ? inputs[this.backboneEndLevel - 1] : this.extraSource === 'on_lateral' ? laterals[used - 1] : outs[used - 1];
          outs.push(this.fpnConvs.at(used).forward(src));
          for (let i = used + 1; i < this.numOuts; i++) {
            const prev = outs[outs.length - 1];
            outs.push(this.fpnConvs.at(i).forward(this.reluBeforeExtraConvs ? tf.relu(prev) : prev));
          }
        }
      }
      return outs;
    });
  }
}

const FPN_DEFAULTS: FPNConfig & Record<string, unknown> = {
  in_channels: undefined as unknown as number[],
  out_channels: undefined as unknown as number,
  num_outs: undefined as unknown as number,
  start_level: 0,
  end_level: -1,
  add_extra_convs: false,
  extra_convs_on_inputs: true,
  relu_before_extra_convs: false,
  no_norm_on_lateral: false,
  conv_cfg: null,
  norm_cfg: null,
  act_cfg: null,
  upsample_cfg: { mode: 'nearest' },
  init_cfg: undefined,
};

NECKS.register<FPNConfig & Record<string, unknown>>('FPN', {
  defaults: FPN_DEFAULTS,
  build: (cfg, _ctx, origin) => {
    for (const k of ['in_channels', 'out_channels', 'num_outs'] as const) {
      if (cfg[k] === undefined) throw new ConfigError(`missing required key '${k}'`, { ...origin, path: `${origin.path}.${k}` });
    }
    const at = (k: string) => ({ ...origin, path: `${origin.path}.${k}` });
    return new FPN({ ...cfg, norm_cfg: normCfgFromConfig(cfg.norm_cfg, at('norm_cfg')), act_cfg: actCfgFromConfig(cfg.act_cfg, at('act_cfg')) }, origin);
  },
});
