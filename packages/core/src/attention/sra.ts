import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d, LayerNorm, type Linear } from '../nn/layers';
import { truncLinear } from './trunc_linear';
import { headsAndScale, mergeHeads, sdpa, splitHeads } from './mha';
import type { AttentionOptions } from './msa';

/**
 * PVT spatial-reduction attention: queries at every position, keys/values from the map reduced by a
 * stride-`srRatio` conv (`sr`) + LayerNorm (`norm`). Names as PVT: `q`, `kv`, `proj`, `sr`, `norm`.
 * Sides that are not multiples of srRatio are floored by the conv, as in PVT.
 */
export class SRA extends Module {
  readonly q: Linear;
  readonly kv: Linear;
  readonly proj: Linear;
  readonly sr?: Conv2d;
  readonly norm?: LayerNorm;
  readonly numHeads: number;
  readonly scale: number;
  constructor(readonly dim: number, readonly srRatio: number, opts: AttentionOptions = {}) {
    super();
    ({ numHeads: this.numHeads, scale: this.scale } = headsAndScale('SRA', dim, opts.numHeads, opts.qkScale));
    const init = opts.init ?? true;
    this.q = this.addModule('q', truncLinear(dim, dim, opts.qkvBias ?? false, init));
    this.kv = this.addModule('kv', truncLinear(dim, 2 * dim, opts.qkvBias ?? false, init));
    this.proj = this.addModule('proj', truncLinear(dim, dim, true, init));
    if (srRatio > 1) {
      this.sr = this.addModule('sr', new Conv2d(dim, dim, srRatio, { stride: srRatio }));
      this.norm = this.addModule('norm', new LayerNorm(dim));
    }
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const nh = this.numHeads;
      const q = splitHeads(this.q.forward(x.reshape([b, h * w, c])), nh);
      const src = this.sr && this.norm ? this.norm.forward(this.sr.forward(x)) : x;
      const m = src.shape[1] * src.shape[2];
      const kv = this.kv.forward(src.reshape([b, m, c])).reshape([b, m, 2, nh, c / nh]).transpose([2, 0, 3, 1, 4]);
      const [k, v] = tf.unstack(kv);
      return this.proj.forward(mergeHeads(sdpa(q, k, v, this.scale))).reshape([b, h, w, c]) as tf.Tensor4D;
    });
  }
  flops(h: number, w: number): number {
    const n = h * w;
    const r = this.srRatio;
    const m = r > 1 ? Math.floor(h / r) * Math.floor(w / r) : n;
    const conv = r > 1 ? m * this.dim * this.dim * r * r : 0;
    return n * this.dim * this.dim + conv + m * this.dim * 2 * this.dim + 2 * n * m * this.dim + n * this.dim * this.dim;
  }
}
