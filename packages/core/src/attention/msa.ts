import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import type { Linear } from '../nn/layers';
import { truncLinear } from './trunc_linear';
import { headsAndScale, mergeHeads, sdpa } from './mha';

export interface AttentionOptions {
  numHeads?: number;
  qkvBias?: boolean;
  qkScale?: number | null;
  init?: boolean;
}

/** Plain global multi-head self-attention (ViT / timm `Attention`: `qkv`, `proj`) on NHWC maps. */
export class GlobalMSA extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly numHeads: number;
  readonly scale: number;
  constructor(readonly dim: number, opts: AttentionOptions = {}) {
    super();
    ({ numHeads: this.numHeads, scale: this.scale } = headsAndScale('GlobalMSA', dim, opts.numHeads, opts.qkScale));
    this.qkv = this.addModule('qkv', truncLinear(dim, 3 * dim, opts.qkvBias ?? false, opts.init ?? true));
    this.proj = this.addModule('proj', truncLinear(dim, dim, true, opts.init ?? true));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const qkv = this.qkv.forward(x.reshape([b, h * w, c])).reshape([b, h * w, 3, this.numHeads, c / this.numHeads]).transpose([2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv);
      return this.proj.forward(mergeHeads(sdpa(q, k, v, this.scale))).reshape([b, h, w, c]) as tf.Tensor4D;
    });
  }
  /** MACs of the matmuls (same counting as HiLo's `flops`). */
  flops(h: number, w: number): number {
    const n = h * w;
    return n * this.dim * 3 * this.dim + 2 * n * n * this.dim + n * this.dim * this.dim;
  }
}

