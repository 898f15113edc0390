/**
 * EfficientViT (MSRA, microsoft/Cream `EfficientViT/classification/model/efficientvit.py`): a stride-16 conv
 * stem, three stages of sandwich blocks (DW conv, FFN, cascaded group attention in local windows, DW conv, FFN,
 * each residual) joined by PatchMerging (1×1 expand, stride-2 DW, squeeze-excite, 1×1 project), average pool,
 * BN+Linear head. The classifier takes one input size; `EfficientViTBackbone` (downstream/efficientvit.py) is the
 * dense form for detection: any input size, windows padded bottom/right, three NHWC outputs.
 * Official names throughout; the training form has BN after every conv, `fuse()` folds them.
 * Activations NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { Module, ModuleList, type LoadResult, type StateDict } from '../../nn/module';
import { checkpointFileAccess } from '../../checkpoint/file_access';
import { BatchNorm2d, Conv2d } from '../../nn/layers';
import type { Backbone, BackboneFlops, ClassificationNet } from '../../registry/registries';
import { BNLinear, Conv2dBN, foldBatchNorms } from '../common/bn_fusion';
import { IndexedLayers, attentionBiasIdxs } from '../levit/model';

/** Official `EfficientViT.__init__` arguments (attn_ratio is derived: embed_dim / (key_dim · num_heads)). */
export interface EfficientViTConfig {
  img_size: number;
  patch_size: number;
  in_chans: number;
  num_classes: number;
  stages: string[];
  embed_dim: number[];
  key_dim: number[];
  depth: number[];
  num_heads: number[];
  window_size: number[];
  kernels: number[];
  down_ops: (string | number)[][];
  distillation: boolean;
}

/** x + m(x) (the official `Residual`; drop is 0 in every released configuration). */
class Residual<M extends { forward(x: tf.Tensor4D): tf.Tensor4D } & Module> extends Module {
  readonly m: M;
  constructor(m: M) {
    super();
    this.m = this.addModule('m', m);
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => x.add(this.m.forward(x)) as tf.Tensor4D);
  }
}

/** 1×1 Conv2d_BN, ReLU, 1×1 Conv2d_BN (`pw1`, `pw2`). */
export class EfficientViTFFN extends Module {
  readonly pw1: Conv2dBN;
  readonly pw2: Conv2dBN;
  constructor(ed: number, h: number, fused: boolean) {
    super();
    this.pw1 = this.addModule('pw1', new Conv2dBN(ed, h, 1, { fused }));
    this.pw2 = this.addModule('pw2', new Conv2dBN(h, ed, 1, { fused }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.pw2.forward(this.pw1.forward(x, true)));
  }
}

const dwConvBN = (ed: number, fused: boolean) => new Conv2dBN(ed, ed, 3, { padding: 1, groups: ed, fused });

/**
 * Cascaded group attention on one window ([B', r, r, C], r = `resolution`): head i sees channel chunk i plus the
 * previous head's output, `qkvs.i` gives q (kd), k (kd), v (d), only q goes through the depth-wise `dws.i`;
 * scores get a per-head bias by |Δrow|·r + |Δcol|; ReLU on the concatenated heads, then `proj.1`.
 */
export class CascadedGroupAttention extends Module {
  readonly qkvs: ModuleList<Conv2dBN>;
  readonly dws: ModuleList<Conv2dBN>;
  readonly proj: IndexedLayers<Conv2dBN>;
  readonly attentionBiases: tf.Variable;
  readonly attentionBiasIdxs: tf.Variable;
  readonly d: number;
  constructor(readonly dim: number, readonly keyDim: number, readonly numHeads: number, attnRatio: number, readonly resolution: number, kernels: number[], fused: boolean) {
    super();
    this.d = Math.trunc(attnRatio * keyDim);
    if (kernels.length < numHeads) throw new Error(`EfficientViT: ${numHeads} heads need ${numHeads} kernels, got [${kernels}]`);
    this.qkvs = this.addModule('qkvs', new ModuleList<Conv2dBN>());
    this.dws = this.addModule('dws', new ModuleList<Conv2dBN>());
    for (let i = 0; i < numHeads; i++) {
      this.qkvs.push(new Conv2dBN(Math.floor(dim / numHeads), 2 * keyDim + this.d, 1, { fused }));
      this.dws.push(new Conv2dBN(keyDim, keyDim, kernels[i], { padding: Math.floor(kernels[i] / 2), groups: keyDim, fused }));
    }
    this.proj = this.addModule('proj', new IndexedLayers({ 1: new Conv2dBN(this.d * numHeads, dim, 1, { fused }) }));
    const n = resolution * resolution;
    this.attentionBiases = this.addParameter('attention_biases', tf.zeros([numHeads, n]));
    this.attentionBiasIdxs = this.addBuffer('attention_bias_idxs', tf.tensor(attentionBiasIdxs(resolution, resolution, 1), [n, n], 'float32'), 'int64');
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      const n = h * w;
      if (n !== this.resolution * this.resolution) {
        throw new Error(`EfficientViT attention: a ${h}x${w} map does not match its ${this.resolution}x${this.resolution} bias table (as in the official code, maps at most one window large must be exactly one window)`);
      }
      const ab = tf.gather(this.attentionBiases, this.attentionBiasIdxs.reshape([-1]).toInt(), 1).reshape([this.numHeads, n, n]);
      const chunks = tf.split(x, this.numHeads, 3) as tf.Tensor4D[];
      const outs: tf.Tensor4D[] = [];
      let feat: tf.Tensor4D = chunks[0];
      for (let i = 0; i < this.numHeads; i++) {
        if (i > 0) feat = feat.add(chunks[i]);
        const qkv = this.qkvs.at(i).forward(feat);
        const [q0, k, v] = tf.split(qkv, [this.keyDim, this.keyDim, this.d], 3) as tf.Tensor4D[];
        const q = this.dws.at(i).forward(q0);
        const logits = tf.matMul(q.reshape([b, n, this.keyDim]), k.reshape([b, n, this.keyDim]), false, true).mul(this.keyDim ** -0.5).add(ab.slice([i, 0, 0], [1, n, n]));
        feat = tf.matMul(tf.softmax(logits), v.reshape([b, n, this.d])).reshape([b, h, w, this.d]) as tf.Tensor4D;
        outs.push(feat);
      }
      return this.proj.at(1).forward(tf.relu(tf.concat(outs, 3)) as tf.Tensor4D);
    });
  }
}

/** Zero pad bottom/right to multiples of `win`, split into windows [B·nH·nW, win, win, C] (row-major windows). */
function toWindows(x: tf.Tensor4D, win: number): { windows: tf.Tensor4D; nH: number; nW: number } {
  const [b, h, w, c] = x.shape;
  const pb = (win - (h % win)) % win;
  const pr = (win - (w % win)) % win;
  const xp = pb || pr ? x.pad([[0, 0], [0, pb], [0, pr], [0, 0]]) : x;
  const nH = (h + pb) / win;
  const nW = (w + pr) / win;
  const windows = xp.reshape([b, nH, win, nW, win, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b * nH * nW, win, win, c]) as tf.Tensor4D;
  return { windows, nH, nW };
}

function fromWindows(windows: tf.Tensor4D, b: number, nH: number, nW: number, h: number, w: number): tf.Tensor4D {
  const [, win, , c] = windows.shape;
  const full = windows.reshape([b, nH, nW, win, win, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, nH * win, nW * win, c]) as tf.Tensor4D;
  return full.shape[1] === h && full.shape[2] === w ? full : (full.slice([0, 0, 0, 0], [b, h, w, c]) as tf.Tensor4D);
}

/**
 * `LocalWindowAttention`: attention over non-overlapping `windowSize` windows (zero-padded bottom/right and
 * cropped back; padded tokens are not masked, as in the official code) unless the map fits in one window.
 * The classifier builds its table for min(window, resolution); the downstream backbone always for the window.
 */
export class LocalWindowAttention extends Module {
  readonly attn: CascadedGroupAttention;
  constructor(dim: number, keyDim: number, numHeads: number, attnRatio: number, readonly resolution: number | null, readonly windowSize: number, kernels: number[], fused: boolean) {
    super();
    const tableSide = resolution === null ? windowSize : Math.min(windowSize, resolution);
    this.attn = this.addModule('attn', new CascadedGroupAttention(dim, keyDim, numHeads, attnRatio, tableSide, kernels, fused));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w] = x.shape;
    if (this.resolution !== null && (h !== this.resolution || w !== this.resolution)) {
      throw new Error(`EfficientViT: the classifier's attention expects a ${this.resolution}x${this.resolution} map, got ${h}x${w}`);
    }
    if (h <= this.windowSize && w <= this.windowSize) return this.attn.forward(x);
    return tf.tidy(() => {
      const { windows, nH, nW } = toWindows(x, this.windowSize);
      return fromWindows(this.attn.forward(windows), b, nH, nW, h, w);
    });
  }
}

/** The sandwich block: dw0, ffn0, mixer (window attention), dw1, ffn1, each residual. */
export class EfficientViTBlock extends Module {
  readonly dw0: Residual<Conv2dBN>;
  readonly ffn0: Residual<EfficientViTFFN>;
  readonly mixer: Residual<LocalWindowAttention>;
  readonly dw1: Residual<Conv2dBN>;
  readonly ffn1: Residual<EfficientViTFFN>;
  constructor(type: string, ed: number, kd: number, nh: number, ar: number, resolution: number | null, window: number, kernels: number[], fused: boolean) {
    super();
    if (type !== 's') throw new Error(`EfficientViT: unknown stage type '${type}' (only 's', self-attention)`);
    this.dw0 = this.addModule('dw0', new Residual(dwConvBN(ed, fused)));
    this.ffn0 = this.addModule('ffn0', new Residual(new EfficientViTFFN(ed, 2 * ed, fused)));
    this.mixer = this.addModule('mixer', new Residual(new LocalWindowAttention(ed, kd, nh, ar, resolution, window, kernels, fused)));
    this.dw1 = this.addModule('dw1', new Residual(dwConvBN(ed, fused)));
    this.ffn1 = this.addModule('ffn1', new Residual(new EfficientViTFFN(ed, 2 * ed, fused)));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.ffn1.forward(this.dw1.forward(this.mixer.forward(this.ffn0.forward(this.dw0.forward(x))))));
  }
}

/** timm 0.5.4 SqueezeExcite: mean pool, 1×1 conv (bias), ReLU, 1×1 conv (bias), sigmoid gate. */
export class SqueezeExcite extends Module {
  readonly fc1: Conv2d;
  readonly fc2: Conv2d;
  constructor(ch: number, reduced: number) {
    super();
    this.fc1 = this.addModule('fc1', new Conv2d(ch, reduced, 1));
    this.fc2 = this.addModule('fc2', new Conv2d(reduced, ch, 1));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => x.mul(tf.sigmoid(this.fc2.forward(this.fc1.forward(x.mean([1, 2], true) as tf.Tensor4D, true)))) as tf.Tensor4D);
  }
}

/** 1×1 expand to 4C + ReLU, stride-2 3×3 depth-wise + ReLU, squeeze-excite, 1×1 to C' (no residual). */
export class PatchMerging extends Module {
  readonly conv1: Conv2dBN;
  readonly conv2: Conv2dBN;
  readonly se: SqueezeExcite;
  readonly conv3: Conv2dBN;
  constructor(dim: number, outDim: number, fused: boolean) {
    super();
    const hid = 4 * dim;
    this.conv1 = this.addModule('conv1', new Conv2dBN(dim, hid, 1, { fused }));
    this.conv2 = this.addModule('conv2', new Conv2dBN(hid, hid, 3, { stride: 2, padding: 1, groups: hid, fused }));
    this.se = this.addModule('se', new SqueezeExcite(hid, Math.round(hid * 0.25)));
    this.conv3 = this.addModule('conv3', new Conv2dBN(hid, outDim, 1, { fused }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv3.forward(this.se.forward(this.conv2.forward(this.conv1.forward(x, true), true))));
  }
}

/** `Sequential(Residual(DW Conv2d_BN), Residual(FFN))` around a PatchMerging. */
class DwFfn extends IndexedLayers<Residual<Conv2dBN> | Residual<EfficientViTFFN>> {
  constructor(ed: number, fused: boolean) {
    super({ 0: new Residual(dwConvBN(ed, fused)), 1: new Residual(new EfficientViTFFN(ed, 2 * ed, fused)) });
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.at(1).forward(this.at(0).forward(x)));
  }
}

type StageItem = EfficientViTBlock | PatchMerging | DwFfn;

/** Stem and the three stages, shared by the classifier and the dense backbone. */
abstract class EfficientViTBody extends Module {
  readonly patch_embed: IndexedLayers<Conv2dBN>;
  readonly stages: ModuleList<StageItem>[] = [];
  readonly fused: boolean;

  /** `resolution` null: the dense form (any input size, window-sized tables). */
  constructor(readonly cfg: EfficientViTConfig, fused: boolean, dense: boolean) {
    super();
    this.fused = fused;
    const c = cfg;
    const n = c.embed_dim[0];
    const L = c.embed_dim.length;
    for (const [k, v] of Object.entries({ key_dim: c.key_dim, depth: c.depth, num_heads: c.num_heads, window_size: c.window_size, stages: c.stages, down_ops: c.down_ops })) {
      if (v.length !== L) throw new Error(`EfficientViT: ${k} needs ${L} entries (one per stage), got ${v.length}`);
    }
    if (L !== 3) throw new Error(`EfficientViT: the official model has three stages (blocks1..3), got ${L}`);
    if (n % 8) throw new Error(`EfficientViT: embed_dim[0] (${n}) must be divisible by 8`);
    const widths = [c.in_chans, n / 8, n / 4, n / 2, n];
    const stem: Record<number, Conv2dBN> = {};
    for (let i = 0; i < 4; i++) stem[2 * i] = new Conv2dBN(widths[i], widths[i + 1], 3, { stride: 2, padding: 1, fused });
    this.patch_embed = this.addModule('patch_embed', new IndexedLayers(stem));
    for (let i = 0; i < L; i++) this.stages.push(this.addModule(`blocks${i + 1}`, new ModuleList<StageItem>()));
    let res = Math.floor(c.img_size / c.patch_size);
    for (let i = 0; i < L; i++) {
      const [ed, kd, nh, wd] = [c.embed_dim[i], c.key_dim[i], c.num_heads[i], c.window_size[i]];
      const ar = ed / (kd * nh);
      if (ed % nh) throw new Error(`EfficientViT: embed_dim ${ed} is not divisible by num_heads ${nh}`);
      for (let d = 0; d < c.depth[i]; d++) this.stages[i].push(new EfficientViTBlock(c.stages[i], ed, kd, nh, ar, dense ? null : res, wd, c.kernels, fused));
      const op = c.down_ops[i];
      if (op[0] === 'subsample') {
        if (i + 1 >= L) throw new Error('EfficientViT: the last stage cannot subsample');
        const stride = Number(op[1]);
        this.stages[i + 1].push(new DwFfn(ed, fused));
        this.stages[i + 1].push(new PatchMerging(ed, c.embed_dim[i + 1], fused));
        res = Math.floor((res - 1) / stride) + 1;
        this.stages[i + 1].push(new DwFfn(c.embed_dim[i + 1], fused));
      } else if (op[0] !== '') {
        throw new Error(`EfficientViT: unknown down op '${String(op[0])}' (only 'subsample')`);
      }
    }
  }

  forwardStem(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let y = x;
      for (let i = 0; i < 4; i++) y = this.patch_embed.at(2 * i).forward(y, i < 3);
      return y;
    });
  }

  /** Runs stage `i` (0-based); `tap` sees the PatchMerging output and the first block's mixer branch. */
  forwardStage(i: number, x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor4D {
    return tf.tidy(() => {
      let y = x;
      let firstBlock = true;
      for (const item of this.stages[i].items) {
        if (item instanceof EfficientViTBlock && firstBlock && tap) {
          firstBlock = false;
          const pre = item.ffn0.forward(item.dw0.forward(y));
          tap(`blocks${i + 1}_0_mixer_branch`, item.mixer.m.forward(pre));
        }
        y = item.forward(y);
        if (item instanceof PatchMerging) tap?.(`blocks${i + 1}_patchmerge_out`, y);
      }
      return y;
    });
  }

  /** Analytic multiply-accumulates of one image of h×w (convs, linears and the attention products). */
  protected bodyMacs(h: number, w: number): { total: number; sizes: [number, number][] } {
    let total = 0;
    const c = this.cfg;
    const n = c.embed_dim[0];
    const widths = [c.in_chans, n / 8, n / 4, n / 2, n];
    for (let i = 0; i < 4; i++) {
      h = Math.floor((h - 1) / 2) + 1;
      w = Math.floor((w - 1) / 2) + 1;
      total += widths[i] * widths[i + 1] * 9 * h * w;
    }
    const sizes: [number, number][] = [];
    for (let s = 0; s < 3; s++) {
      for (const item of this.stages[s].items) {
        const hw = h * w;
        if (item instanceof DwFfn || item instanceof EfficientViTBlock) {
          const ed = item instanceof DwFfn ? (item.at(0).m as Conv2dBN).outChannels : item.dw0.m.outChannels;
          const pairs = item instanceof DwFfn ? 1 : 2;
          total += pairs * (ed * 9 * hw + 2 * ed * 2 * ed * hw);
          if (item instanceof EfficientViTBlock) {
            const a = item.mixer.m.attn;
            const win = item.mixer.m.windowSize;
            const tokensPerWin = h <= win && w <= win ? hw : win * win;
            const paddedHw = h <= win && w <= win ? hw : Math.ceil(h / win) * win * Math.ceil(w / win) * win;
            const cin = Math.floor(a.dim / a.numHeads);
            for (let k = 0; k < a.numHeads; k++) {
              const ks = a.dws.at(k).kernel;
              total += paddedHw * (cin * (2 * a.keyDim + a.d) + a.keyDim * ks * ks + tokensPerWin * (a.keyDim + a.d));
            }
            total += paddedHw * a.d * a.numHeads * a.dim;
          }
        } else {
          const cin = item.conv1.inChannels;
          const hid = 4 * cin;
          total += cin * hid * hw;
          h = Math.floor((h - 1) / 2) + 1;
          w = Math.floor((w - 1) / 2) + 1;
          total += hid * 9 * h * w + 2 * hid * (hid / 4) + hid * item.conv3.outChannels * h * w;
        }
      }
      sizes.push([h, w]);
    }
    return { total, sizes };
  }
}

/** The ImageNet classifier (`EfficientViT` of classification/model/efficientvit.py). */
export class EfficientViT extends EfficientViTBody implements ClassificationNet {
  readonly head?: BNLinear;
  readonly head_dist?: BNLinear;
  constructor(cfg: EfficientViTConfig, opts: { fused?: boolean } = {}) {
    super(cfg, Boolean(opts.fused), false);
    const nf = cfg.embed_dim[cfg.embed_dim.length - 1];
    if (cfg.num_classes > 0) {
      this.head = this.addModule('head', new BNLinear(nf, cfg.num_classes, { fused: this.fused }));
      if (cfg.distillation) this.head_dist = this.addModule('head_dist', new BNLinear(nf, cfg.num_classes, { fused: this.fused }));
    }
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
  flops(): number {
    const { total } = this.bodyMacs(this.cfg.img_size, this.cfg.img_size);
    const heads = this.head ? (this.head_dist ? 2 : 1) : 0;
    return total + heads * this.featureDim * this.cfg.num_classes;
  }

  forwardFeatures(x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor2D {
    const [, h, w] = x.shape;
    if (h !== this.cfg.img_size || w !== this.cfg.img_size) throw new Error(`EfficientViT: input is ${h}x${w} but the classifier was built for img_size ${this.cfg.img_size}`);
    return tf.tidy(() => {
      let y = this.forwardStem(x);
      tap?.('patch_embed_out', y);
      for (let i = 0; i < 3; i++) {
        y = this.forwardStage(i, y, tap);
        tap?.(`blocks${i + 1}_out`, y);
      }
      const f = y.mean([1, 2]) as tf.Tensor2D;
      tap?.('features', f);
      return f;
    });
  }

  forward(x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor2D {
    return tf.tidy(() => {
      const f = this.forwardFeatures(x, tap);
      if (!this.head) return f;
      const a = this.head.forward(f);
      if (!this.head_dist) return a;
      return this.training ? a : (a.add(this.head_dist.forward(f)).div(2) as tf.Tensor2D);
    });
  }

  /** The inference form with every BatchNorm folded (official `replace_batchnorm`). */
  fuse(): EfficientViT {
    if (this.fused) throw new Error('EfficientViT: already fused');
    const sd = this.stateDict();
    const folded = foldBatchNorms(sd);
    const m = new EfficientViT(this.cfg, { fused: true });
    m.loadStateDict(folded);
    for (const t of [...Object.values(sd), ...Object.values(folded)]) t.dispose();
    return m.train(this.training);
  }
}

/** PyTorch bicubic weights (A = -0.75) of the four taps around a fractional offset t. */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * `F.interpolate(table.view(1, heads, s1, s1), size=(s2, s2), mode='bicubic')` (align_corners False) of a
 * [heads, s1·s1] attention-bias table: how the official downstream `init_weights` fits classification tables
 * (e.g. the 4×4 stage-3 tables at 224) to the detection backbone's 7×7 windows. Border taps are clamped.
 */
export function resizeBiasTable(table: Float32Array, heads: number, s1: number, s2: number): Float32Array {
  const out = new Float32Array(heads * s2 * s2);
  const scale = s1 / s2;
  const taps = Array.from({ length: s2 }, (_, o) => {
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    return { idx: [i0 - 1, i0, i0 + 1, i0 + 2].map((i) => Math.min(Math.max(i, 0), s1 - 1)), w: cubicWeights(src - i0) };
  });
  for (let h = 0; h < heads; h++) {
    const base = h * s1 * s1;
    for (let oy = 0; oy < s2; oy++) {
      for (let ox = 0; ox < s2; ox++) {
        let acc = 0;
        for (let a = 0; a < 4; a++) {
          let row = 0;
          for (let b = 0; b < 4; b++) row += taps[ox].w[b] * table[base + taps[oy].idx[a] * s1 + taps[ox].idx[b]];
          acc += taps[oy].w[a] * row;
        }
        out[h * s2 * s2 + oy * s2 + ox] = acc;
      }
    }
  }
  return out;
}

export interface EfficientViTBackboneOptions {
  fused?: boolean;
  /** Freeze the patch embedding (>= 0; the official default 0) or nothing (-1). */
  frozenStages?: number;
  /** Classification (or downstream) checkpoint loaded by `loadInitCheckpoints`, tables resized as the official code. */
  pretrained?: string | null;
}

/**
 * The dense backbone of downstream/efficientvit.py: no head, any input size, outputs of blocks1..3 (NHWC).
 * As the official module, its BatchNorms stay in evaluation mode while the detector trains, and with
 * frozen_stages >= 0 the patch embedding is frozen.
 */
export class EfficientViTBackbone extends EfficientViTBody implements Backbone {
  readonly outChannels: number[];
  readonly outStrides = [16, 32, 64];
  constructor(cfg: EfficientViTConfig, readonly opts: EfficientViTBackboneOptions = {}) {
    super(cfg, Boolean(opts.fused), true);
    this.outChannels = [...cfg.embed_dim];
    if ((opts.frozenStages ?? 0) >= 0) this.patch_embed.setTrainable(false);
  }

  override train(mode = true): this {
    super.train(mode);
    // Official `train()`: every BatchNorm in eval mode (running statistics used and kept), frozen stem too.
    for (const [, m] of this.namedModules()) if (m instanceof BatchNorm2d) m.training = false;
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    const stem = this.forwardStem(x);
    const outs: tf.Tensor4D[] = [];
    let y = stem;
    for (let i = 0; i < 3; i++) {
      y = this.forwardStage(i, y);
      outs.push(y);
    }
    stem.dispose();
    return outs;
  }

  flops(inputHW: [number, number]): BackboneFlops {
    const { total, sizes } = this.bodyMacs(inputHW[0], inputHW[1]);
    return { total, outSizes: sizes };
  }

  /**
   * Official `init_weights(pretrained)`: drops every `attention_bias_idxs`, bicubic-resizes attention-bias tables
   * whose size differs (same head count), then loads non-strictly (the classifier's head is unexpected).
   */
  async initWeights(): Promise<(LoadResult & { file: string }) | undefined> {
    const file = this.opts.pretrained;
    if (!file) return undefined;
    const sd: StateDict = await checkpointFileAccess().readStateDict(file, {});
    const spec = this.stateDictSpec();
    for (const k of Object.keys(sd)) {
      if (k.includes('attention_bias_idxs')) {
        sd[k].dispose();
        delete sd[k];
      } else if (k.includes('attention_biases') && spec[k]) {
        const [h1, l1] = sd[k].shape;
        const [h2, l2] = spec[k].shape;
        if (h1 === h2 && l1 !== l2) {
          const resized = resizeBiasTable(sd[k].dataSync() as Float32Array, h1, Math.round(Math.sqrt(l1)), Math.round(Math.sqrt(l2)));
          sd[k].dispose();
          sd[k] = tf.tensor2d(resized, [h2, l2]);
        }
      }
    }
    try {
      return { ...this.loadStateDict(sd, { strict: false }), file };
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  }

  override async loadInitCheckpoints(log: (line: string) => void = () => {}, prefix = ''): Promise<void> {
    const r = await this.initWeights();
    if (!r) return;
    log(`${prefix || 'backbone'}: loaded ${r.file}: ${r.missingKeys.length} missing [${r.missingKeys.slice(0, 6).join(', ')}], ${r.unexpectedKeys.length} unexpected [${r.unexpectedKeys.slice(0, 6).join(', ')}]`);
  }
}
