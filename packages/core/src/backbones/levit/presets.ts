import type { LeViTConfig, LeViTDownOp } from './model';

/** The official `specification` table: C (embed dims), D (key dim), N (heads), X (depths), drop_path. */
export const LEVIT_SPECS = {
  LeViT_128S: { C: [128, 256, 384], D: 16, N: [4, 6, 8], X: [2, 3, 4], drop_path: 0 },
  LeViT_128: { C: [128, 256, 384], D: 16, N: [4, 8, 12], X: [4, 4, 4], drop_path: 0 },
  LeViT_192: { C: [192, 288, 384], D: 32, N: [3, 5, 6], X: [4, 4, 4], drop_path: 0 },
  LeViT_256: { C: [256, 384, 512], D: 32, N: [4, 6, 8], X: [4, 4, 4], drop_path: 0 },
  LeViT_384: { C: [384, 512, 768], D: 32, N: [6, 9, 12], X: [4, 4, 4], drop_path: 0.1 },
} as const;

export type LeViTPreset = keyof typeof LEVIT_SPECS;

/** Official `model_factory`: the full constructor arguments of a preset. */
export function levitPresetConfig(name: LeViTPreset, over: Partial<Pick<LeViTConfig, 'num_classes' | 'distillation' | 'drop_path' | 'img_size'>> = {}): LeViTConfig {
  const s = LEVIT_SPECS[name];
  const D = s.D;
  const downOps: LeViTDownOp[] = [
    ['Subsample', D, s.C[0] / D, 4, 2, 2],
    ['Subsample', D, s.C[1] / D, 4, 2, 2],
  ];
  return {
    img_size: 224,
    patch_size: 16,
    in_chans: 3,
    num_classes: 1000,
    embed_dim: [...s.C],
    key_dim: [D, D, D],
    depth: [...s.X],
    num_heads: [...s.N],
    attn_ratio: [2, 2, 2],
    mlp_ratio: [2, 2, 2],
    down_ops: downOps,
    distillation: true,
    drop_path: s.drop_path,
    ...over,
  };
}
