import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import type { Linear } from '../nn/layers';
import { truncLinear } from './trunc_linear';
import { headsAndScale } from './mha';
import type { AttentionOptions } from './msa';

/**
 * Swin-style attention inside non-overlapping ws×ws windows (no shift, no relative position bias),
 * all heads local; `qkv`, `proj`. Maps are zero-padded right/bottom to multiples of ws and cropped back.
 */
export class WindowAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly numHeads: number;
  readonly scale: number;
  constructor(readonly dim: number, readonly windowSize: number, opts: AttentionOptions = {}) {
    super();
    ({ numHeads: this.numHeads, scale: this.scale } = headsAndScale('WindowAttention', dim, opts.numHeads, opts.qkScale));
    this.qkv = this.addModule('qkv', truncLinear(dim, 3 * dim, opts.qkvBias ?? false, opts.init ?? true));
    this.proj = this.addModule('proj', truncLinear(dim, dim, true, opts.init ?? true));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const s = this.windowSize;
      const hp = Math.ceil(h / s) * s;
      const wp = Math.ceil(w / s) * s;
      const xp = hp !== h || wp !== w ? tf.pad(x, [[0, 0], [0, hp - h], [0, wp - w], [0, 0]]) : x;
      const nh = this.numHeads;
      const d = c / nh;
      const hg = hp / s;
      const wg = wp / s;
      const qkv = this.qkv.forward(xp).reshape([b, hg, s, wg, s, 3, nh, d]).transpose([5, 0, 1, 3, 6, 2, 4, 7]).reshape([3, b * hg * wg * nh, s * s, d]);
      const [q, k, v] = tf.unstack(qkv);
      const attn = tf.softmax(tf.matMul(q, k, false, true).mul(this.scale));
      const o = tf.matMul(attn, v).reshape([b, hg, wg, nh, s, s, d]).transpose([0, 1, 4, 2, 5, 3, 6]).reshape([b, hp, wp, c]);
      const y = this.proj.forward(o) as tf.Tensor4D;
      return hp !== h || wp !== w ? (y.slice([0, 0, 0, 0], [-1, h, w, -1]) as tf.Tensor4D) : y;
    });
  }
  flops(h: number, w: number): number {
    const s = this.windowSize;
    const np = Math.ceil(h / s) * s * Math.ceil(w / s) * s;
    return np * this.dim * 3 * this.dim + 2 * np * s * s * this.dim + np * this.dim * this.dim;
  }
}
