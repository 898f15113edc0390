/**
 * Analytic FLOPs of LITv2 as the authors count them (`flops()` methods of the official classification
 * code, SPEC §5): multiply-accumulates of the matmuls/convolutions plus one op per element for norms and
 * conv biases; softmax, GELU, pooling and the bilinear sampling are ignored. Reproduces the published
 * numbers (S 3.734 G, M 7.479 G, B 13.194 G at 224).
 */
import { convFlops } from '../../nn/flops';
import { hiloFlops } from '../../attention/hilo';
import type { BackboneFlops } from '../../registry/registries';
import type { LITv2BackboneConfig } from './backbone';

export interface LITv2FlopsConfig {
  imgSize: number | [number, number];
  patchSize?: number;
  inChans?: number;
  embedDim: number;
  depths: number[];
  numHeads: number[];
  mlpRatio?: number;
  alpha: number;
  localWs: number[];
  hasMsa?: number[];
  numClasses?: number;
  patchNorm?: boolean;
}

/** Per-part FLOPs of the classification model, whose sum is the official `LITv2.flops()`. */
export interface LITv2FlopsBreakdown {
  patchEmbed: number;
  stages: { blocks: number; attention: number; dtm: number }[];
  head: number;
  total: number;
}

export function litv2Flops(cfg: LITv2FlopsConfig): LITv2FlopsBreakdown {
  const [ih, iw] = Array.isArray(cfg.imgSize) ? cfg.imgSize : [cfg.imgSize, cfg.imgSize];
  const p = cfg.patchSize ?? 4;
  const inChans = cfg.inChans ?? 3;
  const ratio = cfg.mlpRatio ?? 4;
  const hasMsa = cfg.hasMsa ?? [0, 0, 1, 1];
  const numClasses = cfg.numClasses ?? 1000;
  const L = cfg.depths.length;
  const pr0 = Math.floor(ih / p);
  const pr1 = Math.floor(iw / p);
  const c = cfg.embedDim;
  const patchEmbed = pr0 * pr1 * c * inChans * p * p + (cfg.patchNorm === false ? 0 : pr0 * pr1 * c);
  const stages: LITv2FlopsBreakdown['stages'] = [];
  for (let i = 0; i < L; i++) {
    const dim = c * 2 ** i;
    // The official model uses integer-divided resolutions per stage (not the DTM's floor chain).
    const h = Math.floor(pr0 / 2 ** i);
    const w = Math.floor(pr1 / 2 ** i);
    const hid = dim * ratio;
    const ffn = convFlops(3, hid, hid, 1, 1, h, w, hid) + 2 * h * w * dim * dim * ratio + dim * h * w;
    let attention = 0;
    if (hasMsa[i] === 1) {
      const heads = cfg.numHeads[i];
      const s = cfg.localWs[i];
      const hd = dim / heads;
      let lHeads = Math.trunc(heads * cfg.alpha);
      if (s === 1) lHeads = heads;
      attention = hiloFlops({ dim, lDim: lHeads * hd, hDim: (heads - lHeads) * hd, windowSize: s }, h, w) + dim * h * w;
    }
    const blocks = cfg.depths[i] * (ffn + attention);
    // DTM: the offset conv is counted with 12 output channels, as in the official code.
    const dtm = i < L - 1 ? convFlops(2, dim, 12, 2, 0, h, w) + convFlops(2, dim, 2 * dim, 2, 0, h, w) + Math.floor(h / 2) * Math.floor(w / 2) * 2 * dim : 0;
    stages.push({ blocks, attention: cfg.depths[i] * attention, dtm });
  }
  const nf = c * 2 ** (L - 1);
  // Final norm: the official code divides by 2^num_layers (16), not by the 64× area reduction.
  const head = Math.floor((nf * pr0 * pr1) / 2 ** L) + nf * numClasses;
  const total = patchEmbed + stages.reduce((a, s) => a + s.blocks + s.dtm, 0) + head;
  return { patchEmbed, stages, head, total };
}

/**
 * FLOPs of the dense (detection / segmentation) backbone on an h×w image: the official classification count at
 * that size without its classifier and final norm, plus the output norms the variant has (det: norm1..3, seg:
 * norm0..3) at the sizes the network really produces (stage 0 at ceil(h/p), then halving with floor, as DTM).
 */
export function litv2BackboneFlops(cfg: LITv2BackboneConfig, [h, w]: [number, number]): BackboneFlops {
  const p = cfg.patch_size;
  const cls = litv2Flops({
    imgSize: [h, w], patchSize: p, inChans: cfg.in_chans, embedDim: cfg.embed_dim, depths: cfg.depths, numHeads: cfg.num_heads,
    mlpRatio: cfg.mlp_ratio, alpha: cfg.alpha, localWs: cfg.local_ws, hasMsa: cfg.has_msa, numClasses: 0, patchNorm: cfg.patch_norm,
  });
  const sizes: [number, number][] = [[Math.ceil(h / p), Math.ceil(w / p)]];
  for (let i = 1; i < cfg.depths.length; i++) sizes.push([Math.floor(sizes[i - 1][0] / 2), Math.floor(sizes[i - 1][1] / 2)]);
  let outNorms = 0;
  for (const i of cfg.out_indices) {
    if (i === 0 && cfg.variant === 'det') continue;
    outNorms += cfg.embed_dim * 2 ** i * sizes[i][0] * sizes[i][1];
  }
  return { total: cls.total - cls.head + outNorms, outSizes: cfg.out_indices.map((i) => sizes[i]) };
}
