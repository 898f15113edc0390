import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Linear } from '../nn/layers';
import { truncLinear } from './trunc_linear';
import { attention, view } from '../nn/lean_ops';

export interface HiLoOptions {
  numHeads?: number;
  qkvBias?: boolean;
  /** Overrides head_dim^-0.5 when given and non-zero (Python's `qk_scale or ...`). */
  qkScale?: number | null;
  /** The window size s: Hi-Fi windows are s×s, Lo-Fi keys are s×s average-pooled. */
  windowSize?: number;
  /** Fraction of heads given to Lo-Fi, truncated: l_heads = trunc(num_heads·alpha). */
  alpha?: number;
  /** Apply the trunc-normal init (default true); false keeps PyTorch-default init (weights to be loaded). */
  init?: boolean;
}

/** Head split of HiLo, computed exactly as the official code does. */
export interface HiLoSplit {
  headDim: number;
  lHeads: number;
  lDim: number;
  hHeads: number;
  hDim: number;
  scale: number;
}

export function hiloSplit(dim: number, numHeads: number, windowSize: number, alpha: number, qkScale?: number | null): HiLoSplit {
  if (!Number.isInteger(dim) || !Number.isInteger(numHeads) || numHeads <= 0 || dim % numHeads) {
    throw new Error(`HiLo: dim ${dim} must be divisible by num_heads ${numHeads}`);
  }
  if (!Number.isInteger(windowSize) || windowSize < 1) throw new Error(`HiLo: window_size must be a positive integer, got ${windowSize}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`HiLo: alpha must be in [0, 1], got ${alpha}`);
  const headDim = dim / numHeads;
  let lHeads = Math.trunc(numHeads * alpha);
  let hHeads = numHeads - lHeads;
  if (windowSize === 1) {
    // s = 1 is plain multi-head self-attention, computed by the Lo-Fi branch with all heads.
    lHeads = numHeads;
    hHeads = 0;
  }
  return { headDim, lHeads, lDim: lHeads * headDim, hHeads, hDim: hHeads * headDim, scale: qkScale ? qkScale : headDim ** -0.5 };
}

export interface HiLoBranches {
  out: tf.Tensor4D;
  /** Hi-Fi branch after `h_proj`, cropped to H×W (absent when it has no heads). */
  hifi?: tf.Tensor4D;
  /** Lo-Fi branch after `l_proj` (absent when it has no heads). */
  lofi?: tf.Tensor4D;
}

/**
 * HiLo attention (LITv2) on NHWC maps: Hi-Fi heads attend inside s×s windows, Lo-Fi heads attend from every
 * position to s×s average-pooled keys/values; outputs are concatenated [Hi-Fi, Lo-Fi] with no joint
 * projection. Maps whose sides are not multiples of s are zero-padded right/bottom (after the caller's
 * norm, unmasked) and cropped back, as the official detection/segmentation copy does; for divisible sizes
 * this is identical to the classification copy.
 * Parameter names: l_q, l_kv, l_proj, h_qkv, h_proj.
 */
export class HiLo extends Module {
  readonly split: HiLoSplit;
  readonly windowSize: number;
  readonly numHeads: number;
  readonly l_q?: Linear;
  readonly l_kv?: Linear;
  readonly l_proj?: Linear;
  readonly h_qkv?: Linear;
  readonly h_proj?: Linear;

  constructor(readonly dim: number, opts: HiLoOptions = {}) {
    super();
    this.numHeads = opts.numHeads ?? 8;
    this.windowSize = opts.windowSize ?? 2;
    const qkvBias = opts.qkvBias ?? false;
    const init = opts.init ?? true;
    this.split = hiloSplit(dim, this.numHeads, this.windowSize, opts.alpha ?? 0.5, opts.qkScale);
    const { lHeads, lDim, hHeads, hDim } = this.split;
    if (lHeads > 0) {
      this.l_q = this.addModule('l_q', truncLinear(dim, lDim, qkvBias, init));
      this.l_kv = this.addModule('l_kv', truncLinear(dim, 2 * lDim, qkvBias, init));
      this.l_proj = this.addModule('l_proj', truncLinear(lDim, lDim, true, init));
    }
    if (hHeads > 0) {
      this.h_qkv = this.addModule('h_qkv', truncLinear(dim, 3 * hDim, qkvBias, init));
      this.h_proj = this.addModule('h_proj', truncLinear(hDim, hDim, true, init));
    }
  }

  /** x: [B, H, W, C] (already normalised) -> [B, H, W, C]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.forwardBranches(x, false).out;
  }

  /** Token interface of the official module: x [B, H·W, C] with token index h·W + w. */
  forwardTokens(x: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n, c] = x.shape;
      if (n !== h * w) throw new Error(`HiLo: ${n} tokens do not form a ${h}x${w} map`);
      return this.forward(x.reshape([b, h, w, c])).reshape([b, n, c]) as tf.Tensor3D;
    });
  }

  /** Forward that also returns each branch's output (for parity checks). */
  forwardBranches(x: tf.Tensor4D, keepBranches = true): HiLoBranches {
    const [, h, w, c] = x.shape;
    if (c !== this.dim) throw new Error(`HiLo: input has ${c} channels, expected ${this.dim}`);
    const s = this.windowSize;
    const padB = (s - (h % s)) % s;
    const padR = (s - (w % s)) % s;
    const res = tf.tidy(() => {
      const xp = padB || padR ? (tf.pad(x, [[0, 0], [0, padB], [0, padR], [0, 0]]) as tf.Tensor4D) : x;
      const crop = (t: tf.Tensor4D) => (padB || padR ? (t.slice([0, 0, 0, 0], [-1, h, w, -1]) as tf.Tensor4D) : t);
      const hifi = this.h_qkv ? crop(this.hifi(xp)) : undefined;
      // Lo-Fi queries at padded positions are discarded by the official code, so only real positions
      // are queried; keys/values come from the padded map.
      const lofi = this.l_q ? this.lofi(x, xp) : undefined;
      const out = hifi && lofi ? (tf.concat([hifi, lofi], 3) as tf.Tensor4D) : ((hifi ?? lofi) as tf.Tensor4D);
      const r: Record<string, tf.Tensor4D> = { out };
      if (keepBranches) {
        if (hifi) r.hifi = hifi;
        if (lofi) r.lofi = lofi;
      }
      return r;
    });
    return res as unknown as HiLoBranches;
  }

  /** Window attention over s×s windows of the padded map xp [B, Hp, Wp, C]. */
  private hifi(xp: tf.Tensor4D): tf.Tensor4D {
    const [b, hp, wp] = xp.shape;
    const s = this.windowSize;
    const { hHeads: nh, headDim: d, hDim, scale } = this.split;
    const hg = hp / s;
    const wg = wp / s;
    // `view` (a reshape that saves nothing for the gradient) wherever a plain reshape would keep a
    // tensor alive on the tape only for its shape.
    // Window partition in two transposes of rank <= 5 (the webgpu backend's shaders stop at rank 6).
    const rows = view(this.h_qkv!.forward(xp), [b * hg, s, wg, s * 3 * hDim]) // channels [q|k|v] head-major
      .transpose([0, 2, 1, 3]); // [B·hg, wg, s, s·3·nh·d]
    const qkv = view(rows, [b * hg * wg, s * s, 3, nh, d]).transpose([2, 0, 3, 1, 4]); // [3, B·hg·wg, nh, s·s, d]
    const [q, k, v] = tf.unstack(view(qkv, [3, b * hg * wg * nh, s * s, d]), 0) as tf.Tensor3D[];
    const heads = view(attention(q, k, v, scale), [b * hg * wg, nh, s * s, d]) // from [B·hg·wg·nh, s·s, d]
      .transpose([0, 2, 1, 3]); // [B·hg·wg, s·s, nh, d]
    const o = view(heads, [b * hg, wg, s, s * hDim])
      .transpose([0, 2, 1, 3]) // [B·hg, s, wg, s·nh·d]
      .reshape([b, hp, wp, hDim]);
    return this.h_proj!.forward(o) as tf.Tensor4D;
  }

  /** Queries from x [B, H, W, C]; keys/values from the s×s average pool of xp (or xp itself when s = 1). */
  private lofi(x: tf.Tensor4D, xp: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w] = x.shape;
    const s = this.windowSize;
    const { lHeads: nh, headDim: d, lDim, scale } = this.split;
    const q = view(this.l_q!.forward(x), [b, h * w, nh, d]).transpose([0, 2, 1, 3]); // [B, nh, N, d]
    const src = s > 1 ? tf.avgPool(xp, s, s, 'valid') : xp;
    const m = src.shape[1] * src.shape[2];
    const kv = view(this.l_kv!.forward(src), [b, m, 2, nh, d]).transpose([2, 0, 3, 1, 4]); // [2, B, nh, M, d]
    const [k, v] = tf.unstack(kv, 0);
    const o = attention(q, k, v, scale).transpose([0, 2, 1, 3]).reshape([b, h, w, lDim]);
    return this.l_proj!.forward(o) as tf.Tensor4D;
  }

  /** Official analytic FLOPs (multiply-accumulates of the matmuls) for an H×W input, see SPEC §5. */
  flops(h: number, w: number): number {
    return hiloFlops({ dim: this.dim, hDim: this.split.hDim, lDim: this.split.lDim, windowSize: this.windowSize }, h, w);
  }
}

/** Shapes of a HiLo layer for its FLOPs count. */
export interface HiLoFlopsConfig {
  dim: number;
  hDim: number;
  lDim: number;
  windowSize: number;
}

/** HiLo FLOPs (official counting: SPEC §5) on an H×W map, padded up to multiples of s as the dense backbones do. */
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

