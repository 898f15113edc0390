import * as tf from '@tensorflow/tfjs';
import { HiLo, LayerNorm, Linear, Conv2d, Module, nextSeed } from '@litv2/core';
import { round, timeIt } from './timing';

/** Attention layers HiLo is compared with in the paper, on NHWC maps [B, H, W, C] (our own minimal versions). */
interface Attn {
  forward(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** softmax(q kᵀ · scale) v over [B·heads, Nq, d] x [B·heads, Nk, d]. */
function attend(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number): tf.Tensor3D {
  return tf.matMul(tf.softmax(tf.matMul(q, k, false, true).mul(scale)), v) as tf.Tensor3D;
}

/** [B, N, heads·d] -> [B·heads, N, d] */
const heads = (t: tf.Tensor, b: number, n: number, h: number, d: number): tf.Tensor3D =>
  t.reshape([b, n, h, d]).transpose([0, 2, 1, 3]).reshape([b * h, n, d]) as tf.Tensor3D;
const merge = (t: tf.Tensor, b: number, n: number, h: number, d: number): tf.Tensor =>
  t.reshape([b, h, n, d]).transpose([0, 2, 1, 3]).reshape([b, n, h * d]);

/** Global multi-head self-attention (ViT / LITv2 stage 4). */
class MSA extends Module implements Attn {
  qkv: Linear;
  proj: Linear;
  constructor(readonly dim: number, readonly nh: number) {
    super();
    this.qkv = this.addModule('qkv', new Linear(dim, 3 * dim));
    this.proj = this.addModule('proj', new Linear(dim, dim));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const n = h * w, d = c / this.nh;
      const qkv = this.qkv.forward(x.reshape([b, n, c])).reshape([b, n, 3, this.nh, d]).transpose([2, 0, 3, 1, 4]).reshape([3, b * this.nh, n, d]);
      const [q, k, v] = tf.unstack(qkv) as tf.Tensor3D[];
      return this.proj.forward(merge(attend(q, k, v, d ** -0.5), b, n, this.nh, d)).reshape([b, h, w, c]) as tf.Tensor4D;
    });
  }
}

/** Non-overlapping window attention (Swin W-MSA without the shift and relative position bias). */
class WindowMSA extends Module implements Attn {
  qkv: Linear;
  proj: Linear;
  constructor(readonly dim: number, readonly nh: number, readonly ws: number) {
    super();
    this.qkv = this.addModule('qkv', new Linear(dim, 3 * dim));
    this.proj = this.addModule('proj', new Linear(dim, dim));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const s = this.ws, d = c / this.nh;
      const ph = (s - (h % s)) % s, pw = (s - (w % s)) % s;
      const xp = ph || pw ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) : x;
      const hp = h + ph, wp = w + pw, nw = (hp / s) * (wp / s);
      const win = xp.reshape([b, hp / s, s, wp / s, s, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b * nw, s * s, c]);
      const qkv = this.qkv.forward(win).reshape([b * nw, s * s, 3, this.nh, d]).transpose([2, 0, 3, 1, 4]).reshape([3, b * nw * this.nh, s * s, d]);
      const [q, k, v] = tf.unstack(qkv) as tf.Tensor3D[];
      const o = this.proj.forward(merge(attend(q, k, v, d ** -0.5), b * nw, s * s, this.nh, d));
      const y = o.reshape([b, hp / s, wp / s, s, s, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, hp, wp, c]);
      return (ph || pw ? y.slice([0, 0, 0, 0], [b, h, w, c]) : y) as tf.Tensor4D;
    });
  }
}

/** Spatial-reduction attention (PVT): keys/values from a stride-r conv + LayerNorm of the map. */
class SRA extends Module implements Attn {
  q: Linear;
  kv: Linear;
  proj: Linear;
  sr: Conv2d;
  norm: LayerNorm;
  constructor(readonly dim: number, readonly nh: number, readonly r: number) {
    super();
    this.q = this.addModule('q', new Linear(dim, dim));
    this.kv = this.addModule('kv', new Linear(dim, 2 * dim));
    this.proj = this.addModule('proj', new Linear(dim, dim));
    this.sr = this.addModule('sr', new Conv2d(dim, dim, r, { stride: r }));
    this.norm = this.addModule('norm', new LayerNorm(dim));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const n = h * w, d = c / this.nh;
      const q = heads(this.q.forward(x.reshape([b, n, c])), b, n, this.nh, d);
      const red = this.norm.forward(this.sr.forward(x));
      const m = red.shape[1] * red.shape[2];
      const kv = this.kv.forward(red.reshape([b, m, c])).reshape([b, m, 2, this.nh, d]).transpose([2, 0, 3, 1, 4]).reshape([2, b * this.nh, m, d]);
      const [k, v] = tf.unstack(kv) as tf.Tensor3D[];
      return this.proj.forward(merge(attend(q, k, v, d ** -0.5), b, n, this.nh, d)).reshape([b, h, w, c]) as tf.Tensor4D;
    });
  }
}

export interface AttentionBenchOptions {
  dim?: number;
  numHeads?: number;
  /** Feature-map sides to test (14 = a 224 image at stride 16). */
  sizes?: number[];
  batch?: number;
  runs?: number;
  log: (s: string) => void;
}

/**
 * One attention layer at LITv2-S stage-3 width (384 channels, 12 heads): HiLo (s = 2, alpha = 0.9) vs global
 * MSA, window attention (7x7 windows, Swin's default) and SRA (reduction 2, PVT's stage-3 setting), forward
 * only, on maps of 14, 28 and 56 (224-, 448- and 896-pixel images). Keys `attention.<layer>.<side>_ms`.
 */
export async function benchmarkAttention(opts: AttentionBenchOptions): Promise<Record<string, number>> {
  const dim = opts.dim ?? 384, nh = opts.numHeads ?? 12, batch = opts.batch ?? 1, runs = opts.runs ?? 10;
  const layers: [string, () => Attn][] = [
    ['hilo', () => new HiLo(dim, { numHeads: nh, qkvBias: true, windowSize: 2, alpha: 0.9 })],
    ['msa', () => new MSA(dim, nh)],
    ['window_msa_ws7', () => new WindowMSA(dim, nh, 7)],
    ['sra_r2', () => new SRA(dim, nh, 2)],
  ];
  const rec: Record<string, number> = {};
  for (const side of opts.sizes ?? [14, 28, 56]) {
    const x = tf.randomNormal([batch, side, side, dim], 0, 1, 'float32', nextSeed()) as tf.Tensor4D;
    const line: string[] = [];
    for (const [name, make] of layers) {
      const layer = make();
      const t = await timeIt(() => {
        tf.tidy(() => {
          layer.forward(x).dataSync();
        });
      }, runs, 2);
      layer.dispose();
      rec[`attention.${name}.${side}x${side}_ms`] = round(t.median_s * 1000, 2);
      line.push(`${name} ${(t.median_s * 1000).toFixed(1)} ms`);
    }
    const hilo = rec[`attention.hilo.${side}x${side}_ms`];
    for (const [name] of layers.slice(1)) rec[`attention.hilo_speedup_vs_${name}.${side}x${side}`] = round(rec[`attention.${name}.${side}x${side}_ms`] / hilo, 2);
    opts.log(`  ${side}x${side} (batch ${batch}): ${line.join(', ')}`);
    x.dispose();
  }
  return rec;
}
