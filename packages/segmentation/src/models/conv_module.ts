import * as tf from '@tensorflow/tfjs';
import { BatchNorm2d, ConfigError, Conv2d, GroupNorm, Module, kaimingNormalFanOut, type ConfigNode } from '@litv2/core';

/** mmcv `norm_cfg`: BN / SyncBN (one process: plain BatchNorm) or GN. */
export interface NormCfg {
  type: string;
  requires_grad?: boolean;
  num_groups?: number;
  eps?: number;
  momentum?: number;
}

/** mmcv `act_cfg`: ReLU, or null for none. */
export interface ActCfg {
  type: string;
  inplace?: boolean;
}

export interface ConvModuleOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  /** 'auto' (mmcv default): a bias only when there is no norm layer. */
  bias?: boolean | 'auto';
  normCfg?: NormCfg | null;
  actCfg?: ActCfg | null;
  /** Where the config came from, for error messages. */
  origin?: string;
}

/** The child name mmcv gives the norm layer (`build_norm_layer` abbreviation): bn, gn. */
function normName(type: string, origin: string): 'bn' | 'gn' {
  if (type === 'BN' || type === 'SyncBN' || type === 'BN2d') return 'bn';
  if (type === 'GN') return 'gn';
  throw new ConfigError(`unsupported norm type '${type}' (expected BN, SyncBN or GN)`, { path: `${origin}.type` });
}

/**
 * mmcv ConvModule in its default order (conv → norm → act) with mmcv's parameter names
 * (`conv.weight`, `bn.running_var`, ...). SyncBN becomes BatchNorm2d: there is one process.
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm?: BatchNorm2d | GroupNorm;
  readonly act: 'relu' | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvModuleOptions = {}) {
    super();
    const origin = opts.origin ?? 'conv_module';
    const normCfg = opts.normCfg ?? null;
    const bias = opts.bias === undefined || opts.bias === 'auto' ? !normCfg : opts.bias;
    this.conv = this.addModule(
      'conv',
      new Conv2d(inChannels, outChannels, kernelSize, { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups: opts.groups, bias }),
    );
    if (normCfg) {
      const name = normName(normCfg.type, `${origin}.norm_cfg`);
      const norm =
        name === 'bn'
          ? new BatchNorm2d(outChannels, normCfg.eps ?? 1e-5, normCfg.momentum ?? 0.1)
          : new GroupNorm(normCfg.num_groups ?? 32, outChannels, normCfg.eps ?? 1e-5);
      this.norm = this.addModule(name, norm);
      if (normCfg.requires_grad === false) norm.setTrainable(false);
    }
    // mmcv ConvModule.init_weights: kaiming normal (fan_out, ReLU gain), zero bias; norm weight 1, bias 0.
    const [kh, kw, , out] = this.conv.weight.shape;
    tf.tidy(() => {
      this.conv.weight.assign(kaimingNormalFanOut(this.conv.weight.shape, out * kh * kw));
      this.conv.bias?.assign(tf.zerosLike(this.conv.bias));
    });
    const actCfg = opts.actCfg === undefined ? { type: 'ReLU' } : opts.actCfg;
    if (actCfg && actCfg.type !== 'ReLU') throw new ConfigError(`unsupported act type '${actCfg.type}' (expected ReLU or null)`, { path: `${origin}.act_cfg.type` });
    this.act = actCfg ? 'relu' : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = this.conv.forward(x);
      if (this.norm) y = this.norm.forward(y);
      return this.act === 'relu' ? tf.relu(y) : y;
    });
  }
}

/** Reads an optional `norm_cfg` / `act_cfg` node from a config, checking its shape. */
export function readLayerCfg<T extends { type: string }>(node: unknown, key: string): T | null {
  if (node === null || node === undefined) return null;
  if (typeof node !== 'object' || Array.isArray(node) || typeof (node as ConfigNode).type !== 'string') {
    throw new ConfigError(`expected a mapping with a 'type' (or null)`, { path: key });
  }
  return node as T;
}
