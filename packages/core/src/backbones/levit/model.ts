/**
 * LeViT (facebookresearch/LeViT `levit.py`): a 4-conv stride-16 stem, then stages of residual attention and MLP
 * blocks on tokens with a learned attention bias per head and relative offset, joined by attention-subsample
 * blocks; mean over tokens; two BN+Linear heads (class and distillation) averaged at evaluation.
 * Every module keeps the official name, so official checkpoints load by name. The training form carries
 * BatchNorm after every conv/linear; `fuse()` returns the inference form with each BN folded into the layer
 * before it (official `replace_batchnorm`). Input NHWC [B, img_size, img_size, 3]; tokens (B, N, C) with
 * token index row·R + col.
 */
import * as tf from '@tensorflow/tfjs';
import { Module, ModuleList, type StateDict } from '../../nn/module';
import { DropPath } from '../../nn/layers';
import { nextSeed } from '../../nn/random';
import type { ClassificationNet } from '../../registry/registries';
import { BNLinear, Conv2dBN, LinearBN, foldBatchNorms } from '../common/bn_fusion';

/** One down-sampling step between stages: ['Subsample', key_dim, num_heads, attn_ratio, mlp_ratio, stride]. */
export type LeViTDownOp = [string, number, number, number, number, number];

/** The official `LeViT.__init__` arguments (activations are Hardswish, the stem is `b16`). */
export interface LeViTConfig {
  img_size: number;
  patch_size: number;
  in_chans: number;
  num_classes: number;
  embed_dim: number[];
  key_dim: number[];
  depth: number[];
  num_heads: number[];
  attn_ratio: number[];
  mlp_ratio: number[];
  down_ops: LeViTDownOp[];
  distillation: boolean;
  drop_path: number;
}

export interface LeViTBuildOptions {
  /** Build the inference form (every BN folded into the layer before it). */
  fused?: boolean;
}

/** x · relu6(x + 3) / 6 (PyTorch Hardswish). */
export function hardswish<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => x.mul(tf.relu6(x.add(3))).div(6) as T);
}

/** The closed form of the official offset table: |Δrow|·R + |Δcol| with query positions scaled by `stride`. */
export function attentionBiasIdxs(resolution: number, resolutionOut: number, stride: number): Int32Array {
  const out = new Int32Array(resolutionOut * resolutionOut * resolution * resolution);
  let i = 0;
  for (let r1 = 0; r1 < resolutionOut; r1++) {
    for (let c1 = 0; c1 < resolutionOut; c1++) {
      for (let r2 = 0; r2 < resolution; r2++) for (let c2 = 0; c2 < resolution; c2++) out[i++] = Math.abs(r1 * stride - r2) * resolution + Math.abs(c1 * stride - c2);
    }
  }
  return out;
}

/** Attention biases gathered per (query, key) pair: [heads, Nq, Nk]. */
function gatheredBias(biases: tf.Variable, idxs: tf.Variable, nq: number, nk: number): tf.Tensor3D {
  return tf.tidy(() => tf.gather(biases, idxs.reshape([-1]).toInt(), 1).reshape([biases.shape[0], nq, nk]) as tf.Tensor3D);
}

/** Scaled dot-product attention with an additive per-head bias: q [B,h,Nq,kd], k [B,h,Nk,kd], v [B,h,Nk,d]. */
function biasedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor3D, scale: number): tf.Tensor4D {
  return tf.tidy(() => {
    const logits = tf.matMul(q, k, false, true).mul(scale).add(bias);
    return tf.matMul(tf.softmax(logits), v) as tf.Tensor4D;
  });
}

/**
 * A PyTorch `Sequential` whose weight-free members (activations, Subsample) are skipped: the layers with weights
 * keep their official indices (`proj.1`, `q.1`, MLP `m.0` / `m.2`).
 */
export class IndexedLayers<M extends Module> extends Module {
  constructor(readonly layers: Record<number, M>) {
    super();
    for (const [i, m] of Object.entries(layers)) this.addModule(i, m);
  }
  at(i: number): M {
    return this.layers[i];
  }
}

/** Multi-head self-attention with attention bias (official `Attention`); Hardswish precedes `proj.1`. */
export class LeViTAttention extends Module {
  readonly qkv: LinearBN;
  readonly proj: IndexedLayers<LinearBN>;
  readonly attentionBiases: tf.Variable;
  readonly attentionBiasIdxs: tf.Variable;
  readonly d: number;
  constructor(readonly dim: number, readonly keyDim: number, readonly numHeads: number, attnRatio: number, readonly resolution: number, fused: boolean) {
    super();
    this.d = Math.trunc(attnRatio * keyDim);
    const dh = this.d * numHeads;
    const n = resolution * resolution;
    this.qkv = this.addModule('qkv', new LinearBN(dim, dh + 2 * keyDim * numHeads, { fused }));
    this.proj = this.addModule('proj', new IndexedLayers({ 1: new LinearBN(dh, dim, { fused }) }));
    this.attentionBiases = this.addParameter('attention_biases', tf.zeros([numHeads, n]));
    this.attentionBiasIdxs = this.addBuffer('attention_bias_idxs', tf.tensor(attentionBiasIdxs(resolution, resolution, 1), [n, n], 'float32'), 'int64');
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n] = x.shape;
      const h = this.numHeads;
      const qkv = this.qkv.forward(x).reshape([b, n, h, 2 * this.keyDim + this.d]);
      const [q, k, v] = tf.split(qkv, [this.keyDim, this.keyDim, this.d], 3).map((t) => t.transpose([0, 2, 1, 3]) as tf.Tensor4D);
      const out = biasedAttention(q, k, v, gatheredBias(this.attentionBiases, this.attentionBiasIdxs, n, n), this.keyDim ** -0.5);
      return this.proj.at(1).forward(hardswish(out.transpose([0, 2, 1, 3]).reshape([b, n, h * this.d]))) as tf.Tensor3D;
    });
  }
}

/**
 * Attention with stride-`stride` queries (official `AttentionSubsample`): keys/values from all R×R tokens,
 * queries from the tokens at even rows and columns (`q.0` Subsample keeps [::stride, ::stride]); no residual.
 */
export class LeViTAttentionSubsample extends Module {
  readonly kv: LinearBN;
  readonly q: IndexedLayers<LinearBN>;
  readonly proj: IndexedLayers<LinearBN>;
  readonly attentionBiases: tf.Variable;
  readonly attentionBiasIdxs: tf.Variable;
  readonly d: number;
  constructor(inDim: number, outDim: number, readonly keyDim: number, readonly numHeads: number, attnRatio: number, readonly stride: number, readonly resolution: number, readonly resolutionOut: number, fused: boolean) {
    super();
    this.d = Math.trunc(attnRatio * keyDim);
    const dh = this.d * numHeads;
    this.kv = this.addModule('kv', new LinearBN(inDim, dh + keyDim * numHeads, { fused }));
    this.q = this.addModule('q', new IndexedLayers({ 1: new LinearBN(inDim, keyDim * numHeads, { fused }) }));
    this.proj = this.addModule('proj', new IndexedLayers({ 1: new LinearBN(dh, outDim, { fused }) }));
    const n = resolution * resolution;
    const nOut = resolutionOut * resolutionOut;
    this.attentionBiases = this.addParameter('attention_biases', tf.zeros([numHeads, n]));
    this.attentionBiasIdxs = this.addBuffer('attention_bias_idxs', tf.tensor(attentionBiasIdxs(resolution, resolutionOut, stride), [nOut, n], 'float32'), 'int64');
  }

  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n, c] = x.shape;
      const h = this.numHeads;
      const r = this.resolution;
      const nOut = this.resolutionOut * this.resolutionOut;
      const kv = this.kv.forward(x).reshape([b, n, h, this.keyDim + this.d]);
      const [k, v] = tf.split(kv, [this.keyDim, this.d], 3).map((t) => t.transpose([0, 2, 1, 3]) as tf.Tensor4D);
      const sub = tf.stridedSlice(x.reshape([b, r, r, c]), [0, 0, 0, 0], [b, r, r, c], [1, this.stride, this.stride, 1]).reshape([b, nOut, c]);
      const q = this.q.at(1).forward(sub).reshape([b, nOut, h, this.keyDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
      const out = biasedAttention(q, k, v, gatheredBias(this.attentionBiases, this.attentionBiasIdxs, nOut, n), this.keyDim ** -0.5);
      return this.proj.at(1).forward(hardswish(out.transpose([0, 2, 1, 3]).reshape([b, nOut, h * this.d]))) as tf.Tensor3D;
    });
  }
}

/** Linear_BN, Hardswish, Linear_BN (official MLP `Sequential`, weights at `0` and `2`). */
export class LeViTMlp extends IndexedLayers<LinearBN> {
  constructor(dim: number, hidden: number, fused: boolean) {
    super({ 0: new LinearBN(dim, hidden, { fused }), 2: new LinearBN(hidden, dim, { fused }) });
  }
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => this.at(2).forward(hardswish(this.at(0).forward(x))) as tf.Tensor3D);
  }
}

/** x + m(x), with per-sample drop of the branch while training (official `Residual`). */
export class LeViTResidual extends Module {
  readonly m: LeViTAttention | LeViTMlp;
  private readonly dropPath: DropPath;
  constructor(m: LeViTAttention | LeViTMlp, drop: number) {
    super();
    this.m = this.addModule('m', m);
    this.dropPath = new DropPath(drop);
  }
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      this.dropPath.training = this.training;
      return x.add(this.dropPath.forward(this.m.forward(x))) as tf.Tensor3D;
    });
  }
}

type LeViTBlock = LeViTResidual | LeViTAttentionSubsample;

/** Official `Conv2d_BN` FLOPs: a·b·k²·(output points), counted at the stem's nominal resolutions. */
function convBnFlops(a: number, b: number, ks: number, stride: number, pad: number, resolution: number): number {
  const out = Math.floor((resolution + 2 * pad - (ks - 1) - 1) / stride) + 1;
  return a * b * out * out * ks * ks;
}

export class LeViT extends Module implements ClassificationNet {
  readonly patch_embed: IndexedLayers<Conv2dBN>;
  readonly blocks: ModuleList<LeViTBlock>;
  readonly head?: BNLinear;
  readonly head_dist?: BNLinear;
  readonly fused: boolean;
  private flopCount = 0;

  constructor(readonly cfg: LeViTConfig, opts: LeViTBuildOptions = {}) {
    super();
    const fused = (this.fused = Boolean(opts.fused));
    const c = cfg;
    const n = c.embed_dim[0];
    if (c.embed_dim.length !== c.depth.length || c.key_dim.length !== c.depth.length || c.num_heads.length !== c.depth.length || c.attn_ratio.length !== c.depth.length || c.mlp_ratio.length !== c.depth.length) {
      throw new Error('LeViT: embed_dim, key_dim, depth, num_heads, attn_ratio and mlp_ratio must have one entry per stage');
    }
    if (n % 8) throw new Error(`LeViT: embed_dim[0] (${n}) must be divisible by 8 (stem widths C/8, C/4, C/2)`);
    if (c.patch_size !== 16) throw new Error(`LeViT: only the official stride-16 stem (b16) exists; patch_size must be 16, got ${c.patch_size}`);
    const stem: Record<number, Conv2dBN> = {};
    const widths = [c.in_chans, n / 8, n / 4, n / 2, n];
    for (let i = 0; i < 4; i++) {
      stem[2 * i] = new Conv2dBN(widths[i], widths[i + 1], 3, { stride: 2, padding: 1, fused });
      this.flopCount += convBnFlops(widths[i], widths[i + 1], 3, 2, 1, Math.floor(c.img_size / 2 ** i));
    }
    this.patch_embed = this.addModule('patch_embed', new IndexedLayers(stem));
    this.blocks = this.addModule('blocks', new ModuleList<LeViTBlock>());
    let res = Math.floor(c.img_size / c.patch_size);
    const downOps: (LeViTDownOp | [''])[] = [...c.down_ops, ['']];
    for (let i = 0; i < Math.min(c.depth.length, downOps.length); i++) {
      const [ed, kd, nh, ar, mr] = [c.embed_dim[i], c.key_dim[i], c.num_heads[i], c.attn_ratio[i], c.mlp_ratio[i]];
      for (let j = 0; j < c.depth[i]; j++) {
        this.blocks.push(new LeViTResidual(new LeViTAttention(ed, kd, nh, ar, res, fused), c.drop_path));
        const d = Math.trunc(ar * kd);
        this.flopCount += ed * (d * nh + 2 * kd * nh) * res ** 2 + d * nh * ed * res ** 2 + nh * res ** 4 * (kd + 1 + d);
        if (mr > 0) {
          const hid = Math.trunc(ed * mr);
          this.blocks.push(new LeViTResidual(new LeViTMlp(ed, hid, fused), c.drop_path));
          this.flopCount += 2 * ed * hid * res ** 2;
        }
      }
      const op = downOps[i];
      if (op[0] === 'Subsample') {
        const [, dkd, dnh, dar, dmr, stride] = op as LeViTDownOp;
        const resOut = Math.floor((res - 1) / stride) + 1;
        const out = c.embed_dim[i + 1];
        this.blocks.push(new LeViTAttentionSubsample(ed, out, dkd, dnh, dar, stride, res, resOut, fused));
        const d = Math.trunc(dar * dkd);
        this.flopCount += ed * (d * dnh + dkd * dnh) * res ** 2 + ed * dkd * dnh * resOut ** 2 + d * dnh * out * resOut ** 2 + dnh * res ** 2 * resOut ** 2 * (dkd + 1 + d);
        res = resOut;
        if (dmr > 0) {
          const hid = Math.trunc(out * dmr);
          this.blocks.push(new LeViTResidual(new LeViTMlp(out, hid, fused), c.drop_path));
          this.flopCount += 2 * out * hid * res ** 2;
        }
      } else if (op[0] !== '') {
        throw new Error(`LeViT: unknown down op '${op[0]}' (only 'Subsample')`);
      }
    }
    const nf = c.embed_dim[c.embed_dim.length - 1];
    if (c.num_classes > 0) {
      this.head = this.addModule('head', new BNLinear(nf, c.num_classes, { fused }));
      this.flopCount += nf * c.num_classes;
      if (c.distillation) {
        this.head_dist = this.addModule('head_dist', new BNLinear(nf, c.num_classes, { fused }));
        this.flopCount += nf * c.num_classes;
      }
    }
    this.initWeights();
  }

  /** Official init: trunc-normal(0.02) head weights; BN weight 0 after each residual branch's last layer. */
  private initWeights(): void {
    tf.tidy(() => {
      for (const h of [this.head, this.head_dist]) {
        if (!h?.l) continue;
        h.l.weight.assign(tf.truncatedNormal(h.l.weight.shape, 0, 0.02, 'float32', nextSeed()));
        h.l.bias!.assign(tf.zerosLike(h.l.bias!));
      }
      for (const b of this.blocks) {
        if (!(b instanceof LeViTResidual)) continue;
        const last = b.m instanceof LeViTAttention ? b.m.proj.at(1) : b.m.at(2);
        last.bn?.weight.assign(tf.zerosLike(last.bn.weight));
      }
    });
  }

  get numClasses(): number {
    return this.cfg.num_classes;
  }
  get featureDim(): number {
    return this.cfg.embed_dim[this.cfg.embed_dim.length - 1];
  }
  get imgSize(): number {
    return this.cfg.img_size;
  }

  /** The official FLOPS counter value (multiply-adds of convs/linears, attention products and softmax). */
  flops(): number {
    return this.flopCount;
  }

  /** Stem output NHWC [B, R, R, C]. */
  forwardStem(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    if (h !== this.cfg.img_size || w !== this.cfg.img_size) throw new Error(`LeViT: input is ${h}x${w} but the model was built for img_size ${this.cfg.img_size}`);
    return tf.tidy(() => {
      let y = x;
      for (let i = 0; i < 4; i++) {
        y = this.patch_embed.at(2 * i).forward(y);
        if (i < 3) y = hardswish(y);
      }
      return y;
    });
  }

  /**
   * Pooled features [B, C]; `tap` sees the intermediate tensors the reference fixture stores
   * (`stage{k}_out`, `down{k}_attn_out`, `down{k}_out`, `block0_attn_branch`).
   */
  forwardFeatures(x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor2D {
    return tf.tidy(() => {
      const stem = this.forwardStem(x);
      tap?.('patch_embed_out', stem);
      const [b, r, , c] = stem.shape;
      let t = stem.reshape([b, r * r, c]) as tf.Tensor3D;
      let stage = 1;
      this.blocks.items.forEach((blk, i) => {
        if (blk instanceof LeViTAttentionSubsample) {
          tap?.(`stage${stage}_out`, t);
          t = blk.forward(t);
          tap?.(`down${stage}_attn_out`, t);
          return;
        }
        if (i === 0 && tap) tap('block0_attn_branch', blk.m.forward(t));
        t = blk.forward(t);
        const prev = this.blocks.items[i - 1];
        if (prev instanceof LeViTAttentionSubsample) tap?.(`down${stage++}_out`, t);
      });
      tap?.(`stage${stage}_out`, t);
      const feats = t.mean(1) as tf.Tensor2D;
      tap?.('features', feats);
      return feats;
    });
  }

  /** Training: the class head's logits; evaluation: the mean of the class and distillation heads. */
  forward(x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor2D {
    return tf.tidy(() => {
      const f = this.forwardFeatures(x, tap);
      if (!this.head) return f;
      const a = this.head.forward(f);
      tap?.('head_out', a);
      if (!this.head_dist) return a;
      const d = this.head_dist.forward(f);
      tap?.('head_dist_out', d);
      // The distillation head learns from a teacher (not part of this port's training); training uses the class head.
      return this.training ? a : (a.add(d).div(2) as tf.Tensor2D);
    });
  }

  /** The inference form: a new model with every BatchNorm folded into the layer before it (official `replace_batchnorm`). */
  fuse(): LeViT {
    if (this.fused) throw new Error('LeViT: already fused');
    const sd = this.stateDict();
    const folded = foldBatchNorms(sd);
    const m = new LeViT(this.cfg, { fused: true });
    m.loadStateDict(folded);
    for (const t of [...Object.values(sd), ...Object.values(folded)]) t.dispose();
    return m.train(this.training);
  }
}

/** Disposes a state dict's tensors. */
export function disposeStateDict(sd: StateDict): void {
  for (const t of Object.values(sd)) t.dispose();
}
