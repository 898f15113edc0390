import * as tf from '@tensorflow/tfjs';
import { Module } from './module';
import { BatchNorm2d, Conv2d, GroupNorm } from './layers';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { validateKeys, type KeySchema } from '../config/validate';
import { isMapping } from '../config/tree';
import { didYouMean } from '../utils/suggest';

/** mmcv-style `norm_cfg`: `{type: 'BN' | 'SyncBN' | 'GN', num_groups?, eps?, requires_grad?}`. */
export interface NormCfg {
  type: string;
  num_groups?: number;
  eps?: number;
  requires_grad?: boolean;
}
/** mmcv-style `act_cfg`: `{type: 'ReLU'}` (null = no activation). */
export interface ActCfg {
  type: string;
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
}

/**
 * conv → norm → activation block with mmcv's child names (`conv`, `bn` / `gn`), so that checkpoints keyed
 * `lateral_convs.0.conv.weight` or `scale_heads.1.0.bn.running_var` load unchanged.
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm?: BatchNorm2d | GroupNorm;
  readonly act: string | null;
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvModuleOptions = {}) {
    super();
    const normCfg = opts.normCfg ?? null;
    const bias = opts.bias === undefined || opts.bias === 'auto' ? normCfg === null : opts.bias;
    this.conv = this.addModule(
      'conv',
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: opts.stride ?? 1,
        padding: opts.padding ?? 0,
        dilation: opts.dilation ?? 1,
        groups: opts.groups ?? 1,
        bias,
      }),
    );
    if (normCfg) {
      const t = normCfg.type;
      if (t === 'BN' || t === 'SyncBN' || t === 'BN2d') {
        const bn = new BatchNorm2d(outChannels, normCfg.eps ?? 1e-5);
        bn.sync = t === 'SyncBN';
        this.norm = this.addModule('bn', bn);
      } else if (t === 'GN') {
        if (!normCfg.num_groups) throw new ConfigError(`norm_cfg type GN needs num_groups`);
        this.norm = this.addModule('gn', new GroupNorm(normCfg.num_groups, outChannels, normCfg.eps ?? 1e-5));
      } else {
        throw new ConfigError(`unsupported norm_cfg type '${t}' (expected BN, SyncBN or GN)`);
      }
      if (normCfg.requires_grad === false) this.norm.setTrainable(false);
    }
    const act = opts.actCfg === undefined ? { type: 'ReLU' } : opts.actCfg;
    if (act && act.type !== 'ReLU') throw new ConfigError(`unsupported act_cfg type '${act.type}' (expected ReLU or null)`);
    this.act = act ? act.type : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      if (!this.norm) return this.conv.forward(x, this.act !== null);
      const y = this.norm.forward(this.conv.forward(x));
      return this.act ? tf.relu(y) : y;
    });
  }
}

/** Accepted keys per mmcv norm layer type (eps / requires_grad as mmcv's build_norm_layer takes them). */
const NORM_KEYS: Record<string, KeySchema> = {
  BN: { type: 'string', eps: 'positive', momentum: 'fraction', requires_grad: 'boolean' },
  BN2d: { type: 'string', eps: 'positive', momentum: 'fraction', requires_grad: 'boolean' },
  SyncBN: { type: 'string', eps: 'positive', momentum: 'fraction', requires_grad: 'boolean' },
  GN: { type: 'string', num_groups: 'count', eps: 'positive', affine: 'boolean', requires_grad: 'boolean' },
};
const ACT_KEYS: Record<string, KeySchema> = { ReLU: { type: 'string', inplace: 'boolean' } };

function layerCfgFromConfig(node: unknown, origin: ConfigOrigin, kind: string, table: Record<string, KeySchema>): ConfigNode | null {
  if (node === null || node === undefined) return null;
  if (!isMapping(node) || typeof node.type !== 'string') throw new ConfigError('expected a mapping with a type, or null', origin);
  const schema = table[node.type];
  if (!schema) throw new ConfigError(`unsupported ${kind} type '${node.type}'${didYouMean(node.type, Object.keys(table))} (expected ${Object.keys(table).join(', ')})`, { ...origin, path: `${origin.path}.type` });
  validateKeys(node, schema, origin, { required: node.type === 'GN' ? ['num_groups'] : [] });
  return node;
}

/** Validates an mmcv `norm_cfg` node (type, keys, values) with the dotted key in errors; null stays null. */
export function normCfgFromConfig(node: unknown, origin: ConfigOrigin): NormCfg | null {
  return layerCfgFromConfig(node, origin, 'norm_cfg', NORM_KEYS) as NormCfg | null;
}

/** Validates an mmcv `act_cfg` node; null stays null (no activation). */
export function actCfgFromConfig(node: unknown, origin: ConfigOrigin): ActCfg | null {
  return layerCfgFromConfig(node, origin, 'act_cfg', ACT_KEYS) as ActCfg | null;
}
