import { CLS_BACKBONES } from '../../registry/registries';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../../registry/registry';
import { LeViT, type LeViTConfig } from './model';
import { LEVIT_SPECS, levitPresetConfig, type LeViTPreset } from './presets';

const INT_LISTS = ['embed_dim', 'key_dim', 'depth', 'num_heads'] as const;
const NUM_LISTS = ['attn_ratio', 'mlp_ratio'] as const;
const INTS = ['img_size', 'patch_size', 'in_chans', 'num_classes'] as const;

/** Type-checks a merged LeViT config (official constructor arguments); errors name the dotted key. */
export function validateLeViTConfig(cfg: ConfigNode, origin: ConfigOrigin): LeViTConfig {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  for (const k of INT_LISTS) {
    const v = cfg[k];
    if (!Array.isArray(v) || !v.every((e) => Number.isInteger(e) && e > 0)) throw new ConfigError(`expected a list of positive integers, got ${JSON.stringify(v)}`, at(k));
  }
  for (const k of NUM_LISTS) {
    const v = cfg[k];
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'number')) throw new ConfigError(`expected a list of numbers, got ${JSON.stringify(v)}`, at(k));
  }
  for (const k of INTS) if (!Number.isInteger(cfg[k])) throw new ConfigError(`expected an integer, got ${JSON.stringify(cfg[k])}`, at(k));
  if (typeof cfg.drop_path !== 'number') throw new ConfigError(`expected a number, got ${JSON.stringify(cfg.drop_path)}`, at('drop_path'));
  if (typeof cfg.distillation !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.distillation)}`, at('distillation'));
  const ops = cfg.down_ops;
  if (!Array.isArray(ops) || !ops.every((o) => Array.isArray(o) && o.length === 6 && o[0] === 'Subsample' && o.slice(1).every((e) => typeof e === 'number'))) {
    throw new ConfigError(`expected a list of ['Subsample', key_dim, num_heads, attn_ratio, mlp_ratio, stride], got ${JSON.stringify(ops)}`, at('down_ops'));
  }
  return cfg as unknown as LeViTConfig;
}

function build(cfg: LeViTConfig, fused: boolean, origin: ConfigOrigin): LeViT {
  try {
    return new LeViT(cfg, { fused });
  } catch (e) {
    throw new ConfigError((e as Error).message, origin);
  }
}

if (!CLS_BACKBONES.has('LeViT')) {
  // Every official constructor argument (defaults: LeViT-128S) plus `fused` (build the BN-folded inference form).
  CLS_BACKBONES.register('LeViT', {
    defaults: { ...levitPresetConfig('LeViT_128S'), fused: false } as unknown as ConfigNode,
    build: (cfg, _ctx, origin) => {
      if (typeof cfg.fused !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.fused)}`, { ...origin, path: `${origin.path}.fused` });
      return build(validateLeViTConfig(cfg, origin), cfg.fused, origin);
    },
  });
  // The official factories (`LeViT_128S`, ...): the preset with the factory's own arguments.
  for (const name of Object.keys(LEVIT_SPECS) as LeViTPreset[]) {
    CLS_BACKBONES.register(name, {
      defaults: { num_classes: 1000, distillation: true, fused: false, img_size: 224, drop_path: LEVIT_SPECS[name].drop_path } as ConfigNode,
      build: (cfg, _ctx, origin) => {
        const c = levitPresetConfig(name, { num_classes: cfg.num_classes as number, distillation: cfg.distillation as boolean, img_size: cfg.img_size as number, drop_path: cfg.drop_path as number });
        if (typeof cfg.fused !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.fused)}`, { ...origin, path: `${origin.path}.fused` });
        return build(validateLeViTConfig(c as unknown as ConfigNode, origin), cfg.fused, origin);
      },
    });
  }
}
