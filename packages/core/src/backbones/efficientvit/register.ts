import { BACKBONES, CLS_BACKBONES } from '../../registry/registries';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../../registry/registry';
import { EfficientViT, EfficientViTBackbone, type EfficientViTConfig } from './model';
import { EFFICIENTVIT_PRESETS, efficientvitDownstreamPreset, efficientvitPresetConfig, type EfficientViTPreset } from './presets';

const INT_LISTS = ['embed_dim', 'key_dim', 'depth', 'num_heads', 'window_size', 'kernels'] as const;
const INTS = ['img_size', 'patch_size', 'in_chans', 'num_classes'] as const;

/** Type-checks a merged EfficientViT config (official constructor arguments); errors name the dotted key. */
export function validateEfficientViTConfig(cfg: ConfigNode, origin: ConfigOrigin): EfficientViTConfig {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  for (const k of INT_LISTS) {
    const v = cfg[k];
    if (!Array.isArray(v) || !v.every((e) => Number.isInteger(e) && e > 0)) throw new ConfigError(`expected a list of positive integers, got ${JSON.stringify(v)}`, at(k));
  }
  for (const k of INTS) if (!Number.isInteger(cfg[k])) throw new ConfigError(`expected an integer, got ${JSON.stringify(cfg[k])}`, at(k));
  if (typeof cfg.distillation !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.distillation)}`, at('distillation'));
  if (!Array.isArray(cfg.stages) || !cfg.stages.every((s) => s === 's')) throw new ConfigError(`expected a list of 's' (self-attention stages), got ${JSON.stringify(cfg.stages)}`, at('stages'));
  const ops = cfg.down_ops;
  if (!Array.isArray(ops) || !ops.every((o) => Array.isArray(o) && ((o[0] === 'subsample' && o.length === 2 && Number.isInteger(o[1])) || (o[0] === '' && o.length === 1)))) {
    throw new ConfigError(`expected a list of ['subsample', stride] or [''], got ${JSON.stringify(ops)}`, at('down_ops'));
  }
  return cfg as unknown as EfficientViTConfig;
}

function wrap<T>(origin: ConfigOrigin, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError((e as Error).message, origin);
  }
}

const fusedOf = (cfg: ConfigNode, origin: ConfigOrigin): boolean => {
  if (typeof cfg.fused !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.fused)}`, { ...origin, path: `${origin.path}.fused` });
  return cfg.fused;
};

if (!CLS_BACKBONES.has('EfficientViT')) {
  // Every constructor argument (defaults: M0) plus `fused` (the BN-folded inference form).
  CLS_BACKBONES.register('EfficientViT', {
    defaults: { ...efficientvitPresetConfig('EfficientViT_M0'), fused: false } as unknown as ConfigNode,
    build: (cfg, _ctx, origin) => wrap(origin, () => new EfficientViT(validateEfficientViTConfig(cfg, origin), { fused: fusedOf(cfg, origin) })),
  });
  for (const name of Object.keys(EFFICIENTVIT_PRESETS) as EfficientViTPreset[]) {
    CLS_BACKBONES.register(name, {
      defaults: { num_classes: 1000, distillation: false, img_size: 224, fused: false } as ConfigNode,
      build: (cfg, _ctx, origin) => {
        const c = efficientvitPresetConfig(name, { num_classes: cfg.num_classes as number, distillation: cfg.distillation as boolean, img_size: cfg.img_size as number });
        return wrap(origin, () => new EfficientViT(validateEfficientViTConfig(c as unknown as ConfigNode, origin), { fused: fusedOf(cfg, origin) }));
      },
    });
  }
}

/** `pretrained` (checkpoint path or null) and `frozen_stages` of the downstream factories. */
function downstreamOptions(cfg: ConfigNode, origin: ConfigOrigin): { pretrained: string | null; frozenStages: number } {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  if (cfg.pretrained !== null && typeof cfg.pretrained !== 'string') throw new ConfigError(`expected a checkpoint path or null, got ${JSON.stringify(cfg.pretrained)}`, at('pretrained'));
  if (!Number.isInteger(cfg.frozen_stages)) throw new ConfigError(`expected an integer (-1: nothing frozen, 0: patch embedding), got ${JSON.stringify(cfg.frozen_stages)}`, at('frozen_stages'));
  return { pretrained: (cfg.pretrained as string | null) || null, frozenStages: cfg.frozen_stages as number };
}

if (!BACKBONES.has('EfficientViT')) {
  // downstream/efficientvit.py (mmdet backbone): three outputs (strides 16, 32, 64), any input size.
  const { num_classes: _n, ...ctor } = efficientvitDownstreamPreset('EfficientViT_M4');
  BACKBONES.register('EfficientViT', {
    defaults: { ...ctor, pretrained: null, frozen_stages: 0 } as unknown as ConfigNode,
    build: (cfg, _ctx, origin) => {
      const o = downstreamOptions(cfg, origin);
      return wrap(origin, () => new EfficientViTBackbone(validateEfficientViTConfig({ ...cfg, num_classes: 0 }, origin), o));
    },
  });
  // The official factories `EfficientViT_M0`..`M5` (their own presets) with `pretrained` and `frozen_stages`.
  for (const name of Object.keys(EFFICIENTVIT_PRESETS) as EfficientViTPreset[]) {
    BACKBONES.register(name, {
      defaults: { pretrained: null, frozen_stages: 0 } as ConfigNode,
      build: (cfg, _ctx, origin) => wrap(origin, () => new EfficientViTBackbone(efficientvitDownstreamPreset(name), downstreamOptions(cfg, origin))),
    });
  }
}
