import type { EfficientViTConfig } from './model';

/** `classification/model/build.py` model_cfg presets (key_dim 16, patch 16, three 's' stages everywhere). */
export const EFFICIENTVIT_PRESETS = {
  EfficientViT_M0: { embed_dim: [64, 128, 192], depth: [1, 2, 3], num_heads: [4, 4, 4], window_size: [7, 7, 7], kernels: [5, 5, 5, 5] },
  EfficientViT_M1: { embed_dim: [128, 144, 192], depth: [1, 2, 3], num_heads: [2, 3, 3], window_size: [7, 7, 7], kernels: [7, 5, 3, 3] },
  EfficientViT_M2: { embed_dim: [128, 192, 224], depth: [1, 2, 3], num_heads: [4, 3, 2], window_size: [7, 7, 7], kernels: [7, 5, 3, 3] },
  EfficientViT_M3: { embed_dim: [128, 240, 320], depth: [1, 2, 3], num_heads: [4, 3, 4], window_size: [7, 7, 7], kernels: [5, 5, 5, 5] },
  EfficientViT_M4: { embed_dim: [128, 256, 384], depth: [1, 2, 3], num_heads: [4, 4, 4], window_size: [7, 7, 7], kernels: [7, 5, 3, 3] },
  EfficientViT_M5: { embed_dim: [192, 288, 384], depth: [1, 3, 4], num_heads: [3, 3, 4], window_size: [7, 7, 7], kernels: [7, 5, 3, 3] },
} as const;

export type EfficientViTPreset = keyof typeof EFFICIENTVIT_PRESETS;

/** The full constructor arguments of a preset (classification defaults: 224, 1000 classes, no distillation). */
export function efficientvitPresetConfig(name: EfficientViTPreset, over: Partial<Pick<EfficientViTConfig, 'num_classes' | 'distillation' | 'img_size'>> = {}): EfficientViTConfig {
  const p = EFFICIENTVIT_PRESETS[name];
  return {
    img_size: 224,
    patch_size: 16,
    in_chans: 3,
    num_classes: 1000,
    stages: ['s', 's', 's'],
    embed_dim: [...p.embed_dim],
    key_dim: [16, 16, 16],
    depth: [...p.depth],
    num_heads: [...p.num_heads],
    window_size: [...p.window_size],
    kernels: [...p.kernels],
    down_ops: [['subsample', 2], ['subsample', 2], ['']],
    distillation: false,
    ...over,
  };
}

/**
 * The downstream file's presets (downstream/efficientvit.py): the same as the classifier's except M0, whose
 * q depth-wise kernels there are [7, 5, 3, 3] (a classification M0 checkpoint then leaves heads 0, 2, 3 of every
 * `dws` unloaded, as the official non-strict loader would).
 */
export function efficientvitDownstreamPreset(name: EfficientViTPreset): EfficientViTConfig {
  const c = efficientvitPresetConfig(name, { num_classes: 0 });
  return name === 'EfficientViT_M0' ? { ...c, kernels: [7, 5, 3, 3] } : c;
}
