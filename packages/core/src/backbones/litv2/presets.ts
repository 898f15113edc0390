import type { LITv2ArchConfig } from './base';

export type LITv2Size = 's' | 'm' | 'b';

/** Architecture of the released sizes (SPEC §1); `ws` picks the stage-3 window (2, or 4 for the `_ws_4` configs). */
export function litv2Preset(size: LITv2Size, opts: { ws?: number; dropPathRate?: number } = {}): Pick<LITv2ArchConfig, 'embed_dim' | 'depths' | 'num_heads' | 'alpha' | 'local_ws' | 'drop_path_rate'> {
  const ws = opts.ws ?? 2;
  const base = { alpha: 0.9, local_ws: [0, 0, ws, 1] };
  switch (size) {
    case 's':
      return { ...base, embed_dim: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24], drop_path_rate: opts.dropPathRate ?? 0.2 };
    case 'm':
      return { ...base, embed_dim: 96, depths: [2, 2, 18, 2], num_heads: [3, 6, 12, 24], drop_path_rate: opts.dropPathRate ?? 0.3 };
    case 'b':
      return { ...base, embed_dim: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32], drop_path_rate: opts.dropPathRate ?? 0.5 };
    default:
      throw new Error(`litv2Preset: unknown size '${String(size)}' (expected 's', 'm' or 'b')`);
  }
}
