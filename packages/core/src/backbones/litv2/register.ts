import { BACKBONES, CLS_BACKBONES } from '../../registry/registries';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../../registry/registry';
import { validateKeys } from '../../config/validate';
import { LITv2Backbone, LITV2_BACKBONE_DEFAULTS, type LITv2BackboneConfig } from './backbone';
import { LITv2, LITV2_CLS_DEFAULTS, type LITv2ClsConfig } from './classifier';

const INT_LISTS = ['depths', 'num_heads', 'has_msa', 'local_ws', 'out_indices'] as const;
const NUMBERS = ['patch_size', 'in_chans', 'embed_dim', 'mlp_ratio', 'drop_rate', 'attn_drop_rate', 'drop_path_rate', 'alpha', 'frozen_stages', 'pretrain_img_size', 'window_size'] as const;
const BOOLS = ['qkv_bias', 'ape', 'patch_norm', 'use_checkpoint'] as const;

const CLS_NUMBERS = ['patch_size', 'in_chans', 'embed_dim', 'mlp_ratio', 'drop_rate', 'attn_drop_rate', 'drop_path_rate', 'alpha', 'img_size', 'num_classes'] as const;

/** Type-checks the architecture fields every LITv2 config has (both models); errors name the dotted key. */
function validateArchFields(cfg: ConfigNode, origin: ConfigOrigin, intLists: readonly string[], numbers: readonly string[]): void {
  const at = (k: string) => ({ ...origin, path: `${origin.path}.${k}` });
  for (const k of intLists) {
    const v = cfg[k];
    if (!Array.isArray(v) || !v.every((e) => Number.isInteger(e))) throw new ConfigError(`expected a list of integers, got ${JSON.stringify(v)}`, at(k));
  }
  for (const k of numbers) if (typeof cfg[k] !== 'number') throw new ConfigError(`expected a number, got ${JSON.stringify(cfg[k])}`, at(k));
  for (const k of BOOLS) if (typeof cfg[k] !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg[k])}`, at(k));
  if (cfg.qk_scale !== null && typeof cfg.qk_scale !== 'number') throw new ConfigError(`expected a number or null, got ${JSON.stringify(cfg.qk_scale)}`, at('qk_scale'));
}

/**
 * Type-checks a merged config of the LITv2 image classifier (official classification constructor arguments,
 * `LITV2_CLS_DEFAULTS` merged in); errors name the dotted key. For classification's registry.
 */
export function validateLITv2ClsConfig(cfg: ConfigNode, origin: ConfigOrigin): LITv2ClsConfig {
  validateArchFields(cfg, origin, INT_LISTS.filter((k) => k !== 'out_indices'), CLS_NUMBERS);
  return cfg as unknown as LITv2ClsConfig;
}

/** Type-checks a merged LITv2 backbone config; errors name the dotted key. */
export function validateLITv2BackboneConfig(cfg: ConfigNode, origin: ConfigOrigin): LITv2BackboneConfig {
  const at = (k: string) => ({ ...origin, path: `${origin.path}.${k}` });
  validateArchFields(cfg, origin, INT_LISTS, NUMBERS);
  if (cfg.variant !== 'det' && cfg.variant !== 'seg') throw new ConfigError(`expected 'det' or 'seg', got ${JSON.stringify(cfg.variant)}`, at('variant'));
  const ic = cfg.init_cfg as ConfigNode | null;
  if (ic !== null && ic !== undefined) {
    // Keys first, so a misspelt key is named with a suggestion rather than reported as a missing checkpoint.
    validateKeys(ic, { type: 'string', checkpoint: 'string', prefix: 'string' }, at('init_cfg'));
    if (ic.type !== 'Pretrained' || typeof ic.checkpoint !== 'string') {
      throw new ConfigError(`expected {type: Pretrained, checkpoint: <path>}, got ${JSON.stringify(ic)}`, at('init_cfg'));
    }
  }
  return cfg as unknown as LITv2BackboneConfig;
}

let registered = false;

/** Registers the dense LITv2 backbone as BACKBONES type 'LITv2' (mmdet/mmseg config keys). Idempotent. */
export function registerLITv2Backbone(): void {
  if (registered || BACKBONES.has('LITv2')) return;
  registered = true;
  BACKBONES.register('LITv2', {
    defaults: { ...LITV2_BACKBONE_DEFAULTS } as unknown as ConfigNode,
    // The mmdet constructor also takes `norm_layer`; only LayerNorm exists for LITv2.
    build: (cfg, _ctx, origin) => {
      try {
        const bb = new LITv2Backbone(validateLITv2BackboneConfig(cfg, origin));
        bb.configOrigin = origin;
        return bb;
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw new ConfigError((e as Error).message, origin);
      }
    },
  });
}

registerLITv2Backbone();

/**
 * The classification network (official `classification/models/litv2.py` arguments) as CLS_BACKBONES 'LITv2'.
 * `init: false` in the build context skips the random init when weights are loaded right after.
 */
if (!CLS_BACKBONES.has('LITv2')) {
  CLS_BACKBONES.register('LITv2', {
    defaults: { ...LITV2_CLS_DEFAULTS } as unknown as ConfigNode,
    build: (cfg, ctx, origin) => {
      const c = validateLITv2ClsConfig(cfg, origin);
      try {
        return new LITv2(c, { init: ctx?.init ?? true });
      } catch (e) {
        throw new ConfigError((e as Error).message, origin);
      }
    },
  });
}
