import { ConfigError, LITV2_CLS_DEFAULTS, Registry, type ConfigNode, type ConfigOrigin, type LITv2ClsConfig } from '@litv2/core';
import { ImageClassifier } from './image_classifier';

/** Classifier backbones by `type` (the classification LITv2 with its official constructor arguments). */
export const CLS_BACKBONES = new Registry<Partial<LITv2ClsConfig>>('classification backbone');
/** Whole classifiers by `type`. */
export const CLASSIFIERS = new Registry<ImageClassifier>('classifier');

const LISTS = ['depths', 'num_heads', 'has_msa', 'local_ws'] as const;

if (!CLS_BACKBONES.has('LITv2')) {
  CLS_BACKBONES.register('LITv2', {
    defaults: { ...LITV2_CLS_DEFAULTS } as unknown as ConfigNode,
    build: (cfg, _ctx, origin) => {
      for (const k of LISTS) {
        const v = cfg[k];
        if (!Array.isArray(v) || !v.every((e) => typeof e === 'number')) throw new ConfigError(`expected a list of numbers, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${k}` });
      }
      for (const [k, v] of Object.entries(cfg)) {
        const d = (LITV2_CLS_DEFAULTS as unknown as Record<string, unknown>)[k];
        if (typeof d === 'number' && typeof v !== 'number') throw new ConfigError(`expected a number, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${k}` });
        if (typeof d === 'boolean' && typeof v !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${k}` });
      }
      return cfg as unknown as Partial<LITv2ClsConfig>;
    },
  });
}

export interface ImageClassifierConfig {
  backbone: ConfigNode;
  /** `{type: Pretrained, checkpoint: path}` loads weights after building (see `buildClassifier`). */
  init_cfg: ConfigNode | null;
}

if (!CLASSIFIERS.has('ImageClassifier')) {
  CLASSIFIERS.register('ImageClassifier', {
    defaults: { backbone: { type: 'LITv2' }, init_cfg: null } as unknown as ConfigNode,
    build: (cfg, _ctx, origin: ConfigOrigin) => {
      const arch = CLS_BACKBONES.build(cfg.backbone as ConfigNode, undefined, { ...origin, path: `${origin.path}.backbone` });
      try {
        // Skip the random init when weights are loaded right after.
        return new ImageClassifier(arch, { init: !cfg.init_cfg });
      } catch (e) {
        throw new ConfigError((e as Error).message, { ...origin, path: `${origin.path}.backbone` });
      }
    },
  });
}
