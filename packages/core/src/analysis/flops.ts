/**
 * Analytic FLOPs of LITv2 as the authors count them (`flops()` methods of the official classification
 * code, SPEC §5): multiply-accumulates of the matmuls/convolutions plus one op per element for norms and
 * conv biases; softmax, GELU, pooling and the bilinear sampling are ignored. Reproduces the published
 * numbers (S 3.734 G, M 7.479 G, B 13.194 G at 224).
 */

export interface HiLoFlopsConfig {
  dim: number;
  hDim: number;
  lDim: number;
  windowSize: number;
}

/** HiLo on an H×W map, padded up to multiples of s as the dense backbones do. */
export function hiloFlops(cfg: HiLoFlopsConfig, h: number, w: number): number {
  const s = cfg.windowSize;
  const hp = s * Math.ceil(h / s);
  const wp = s * Math.ceil(w / s);
  const np = hp * wp;
  const m = (hp / s) * (wp / s);
  const hifi = np * cfg.dim * 3 * cfg.hDim + m * (s * s) * (s * s) * cfg.hDim * 2 + np * cfg.hDim * cfg.hDim;
  const lofi = np * cfg.dim * cfg.lDim + m * cfg.dim * 2 * cfg.lDim + np * m * cfg.lDim * 2 + np * cfg.lDim * cfg.lDim;
  return hifi + lofi;
}

/** The official `conv_flops`: MACs per output position times positions, plus one op per output for the bias. */
export function convFlops(k: number, cin: number, cout: number, stride: number, pad: number, h: number, w: number, groups = 1, bias = true): number {
  const oh = Math.floor((h + 2 * pad - (k - 1) - 1) / stride + 1);
  const ow = Math.floor((w + 2 * pad - (k - 1) - 1) / stride + 1);
  const positions = oh * ow;
  return k * k * cin * Math.floor(cout / groups) * positions + (bias ? cout * positions : 0);
}

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
