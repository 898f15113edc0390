import * as tf from '@tensorflow/tfjs';
import { Module, ModuleList } from '../../nn/module';
import { LITLayer, PatchEmbed, type Tap } from './blocks';

/** Architecture fields shared by the classification model and the dense backbones (official names). */
export interface LITv2ArchConfig {
  patch_size: number;
  in_chans: number;
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  mlp_ratio: number;
  qkv_bias: boolean;
  qk_scale: number | null;
  drop_rate: number;
  attn_drop_rate: number;
  drop_path_rate: number;
  ape: boolean;
  patch_norm: boolean;
  use_checkpoint: boolean;
  has_msa: number[];
  alpha: number;
  local_ws: number[];
}

export const LITV2_ARCH_DEFAULTS: LITv2ArchConfig = {
  patch_size: 4,
  in_chans: 3,
  embed_dim: 96,
  depths: [2, 2, 6, 2],
  num_heads: [3, 6, 12, 24],
  mlp_ratio: 4,
  qkv_bias: true,
  qk_scale: null,
  drop_rate: 0,
  attn_drop_rate: 0,
  drop_path_rate: 0.2,
  ape: false,
  patch_norm: true,
  use_checkpoint: false,
  has_msa: [0, 0, 1, 1],
  alpha: 0.9,
  local_ws: [0, 0, 2, 1],
};

/** Construction options that are not part of the architecture. */
export interface LITv2BuildOptions {
  /**
   * Apply the LITv2 initialisation (trunc-normal Linear weights, normal depth-wise conv; default true).
   * false keeps cheaper PyTorch-default init, for models whose weights are loaded right after.
   */
  init?: boolean;
}

/** Stochastic-depth rates: linspace(0, rate, total blocks), assigned in block order across stages. */
export function dropPathRates(rate: number, total: number): number[] {
  if (total <= 1) return total === 1 ? [0] : [];
  return Array.from({ length: total }, (_, i) => (rate * i) / (total - 1));
}

function checkArch(c: LITv2ArchConfig): void {
  const n = c.depths.length;
  for (const [k, v] of [['num_heads', c.num_heads], ['has_msa', c.has_msa], ['local_ws', c.local_ws]] as const) {
    if (!Array.isArray(v) || v.length !== n) throw new Error(`LITv2: '${k}' must list ${n} values (one per stage, like 'depths'), got ${JSON.stringify(v)}`);
  }
  if (c.ape) throw new Error("LITv2: 'ape' (absolute position embedding) is not used by any LITv2 model and is not supported");
  c.depths.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) throw new Error(`LITv2: depths[${i}] must be a non-negative integer, got ${d}`);
    if (c.has_msa[i] === 1 && !(c.local_ws[i] >= 1)) throw new Error(`LITv2: local_ws[${i}] must be >= 1 for an attention stage, got ${c.local_ws[i]}`);
  });
}

/**
 * Patch embedding + stages shared by all three flavours. Activations are NHWC maps throughout; the official
 * (B, N, C) token layout is the same memory viewed as [B, H·W, C].
 */
export class LITv2Base extends Module {
  readonly patch_embed: PatchEmbed;
  readonly layers: ModuleList<LITLayer>;
  readonly numFeatures: number[];
  readonly arch: LITv2ArchConfig;

  constructor(cfg: Partial<LITv2ArchConfig>, padToPatch: boolean, opts: LITv2BuildOptions = {}) {
    super();
    const c: LITv2ArchConfig = { ...LITV2_ARCH_DEFAULTS, ...cfg };
    checkArch(c);
    this.arch = c;
    this.patch_embed = this.addModule('patch_embed', new PatchEmbed(c.patch_size, c.in_chans, c.embed_dim, c.patch_norm, padToPatch));
    const total = c.depths.reduce((a, b) => a + b, 0);
    const dpr = dropPathRates(c.drop_path_rate, total);
    this.layers = this.addModule('layers', new ModuleList<LITLayer>());
    this.numFeatures = c.depths.map((_, i) => c.embed_dim * 2 ** i);
    let start = 0;
    c.depths.forEach((depth, i) => {
      this.layers.push(
        new LITLayer(
          this.numFeatures[i],
          depth,
          c.has_msa[i] === 1,
          { numHeads: c.num_heads[i], mlpRatio: c.mlp_ratio, qkvBias: c.qkv_bias, qkScale: c.qk_scale, dropRate: c.drop_rate, localWs: c.local_ws[i], alpha: c.alpha, init: opts.init ?? true },
          dpr.slice(start, start + depth),
          i < c.depths.length - 1,
        ),
      );
      start += depth;
    });
  }

  /**
   * Patch embed and every stage. `onStage(i, out)` sees each stage's block output (before its DTM); it
   * must neither dispose nor keep it (derive a new tensor). Returns the last stage's output. Taps use the fixture names
   * (`patch_embed_out`, `stage{i}_blocks_out`, `stage{i}_block{j}_attn_out`, `stage{i}_dtm_offset`, `stage{i}_dtm_out`).
   */
  protected runStages(x: tf.Tensor4D, tap?: Tap, onStage?: (i: number, out: tf.Tensor4D) => void): tf.Tensor4D {
    let cur = this.patch_embed.forward(x);
    tap?.('patch_embed_out', cur);
    this.layers.items.forEach((layer, i) => {
      const out = layer.forwardBlocks(cur, tap && ((n, t) => tap(`stage${i}_${n}`, t)));
      cur.dispose();
      tap?.(`stage${i}_blocks_out`, out);
      onStage?.(i, out);
      if (layer.downsample) {
        cur = layer.downsample.forward(out, tap && ((n, t) => tap(`stage${i}_dtm_${n}`, t)));
        tap?.(`stage${i}_dtm_out`, cur);
        out.dispose();
      } else {
        cur = out;
      }
    });
    return cur;
  }
}
