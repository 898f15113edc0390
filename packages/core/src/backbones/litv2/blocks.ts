import * as tf from '@tensorflow/tfjs';
import { Module, ModuleList } from '../../nn/module';
import { Conv2d, LayerNorm, Linear, BatchNorm2d, DropPath, Dropout, gelu } from '../../nn/layers';
import { normal, setParam } from '../../nn/init';
import { add, geluLinear } from '../../nn/lean_ops';
import { truncLinear } from '../../attention/trunc_linear';
import { HiLo } from '../../attention/hilo';
import { DeformConv2dPack } from '../../ops/deform_conv_pack';

/** Receives named intermediate tensors during a forward pass (parity checks, debugging). Must not keep them. */
export type Tap = (name: string, t: tf.Tensor) => void;

/** Holder named `dwconv` around the 3×3 depth-wise conv (official `DWConv`, hence `dwconv.dwconv.*`). */
export class DWConv extends Module {
  readonly dwconv: Conv2d;
  constructor(dim: number, init = true) {
    super();
    this.dwconv = this.addModule('dwconv', new Conv2d(dim, dim, 3, { padding: 1, groups: dim }));
    if (!init) return;
    // normal(0, sqrt(2 / fan_out)) with fan_out = 3·3·dim/groups = 9; zero bias.
    setParam(this.dwconv.weight, normal(this.dwconv.weight.shape, Math.sqrt(2 / 9)));
    setParam(this.dwconv.bias!, tf.zeros([dim]));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.dwconv.forward(x);
  }
}

/** ConvFFN (official `DWMlp`): fc1 -> depth-wise 3×3 -> GELU -> fc2, on NHWC maps. */
export class DWMlp extends Module {
  readonly fc1: Linear;
  readonly dwconv: DWConv;
  readonly fc2: Linear;
  readonly drop: Dropout;
  constructor(dim: number, hidden: number, dropRate = 0, init = true) {
    super();
    this.fc1 = this.addModule('fc1', truncLinear(dim, hidden, true, init));
    this.dwconv = this.addModule('dwconv', new DWConv(hidden, init));
    this.fc2 = this.addModule('fc2', truncLinear(hidden, dim, true, init));
    this.drop = this.addModule('drop', new Dropout(dropRate));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const pre = this.dwconv.forward(this.fc1.forward(x) as tf.Tensor4D);
      // Without dropout, GELU and fc2 form one gradient node that recomputes GELU instead of saving it.
      if (!this.drop.training || this.drop.p === 0) return geluLinear(pre, this.fc2.weight, this.fc2.bias!) as tf.Tensor4D;
      const h = this.drop.forward(gelu(pre));
      return this.drop.forward(this.fc2.forward(h)) as tf.Tensor4D;
    });
  }
}

export interface BlockOptions {
  dim: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  qkScale: number | null;
  dropRate: number;
  dropPath: number;
  localWs: number;
  alpha: number;
  /** Apply the LITv2 init (default); false keeps PyTorch defaults (weights will be loaded). */
  init: boolean;
}

/** Stage 1–2 block: x + DropPath(FFN(norm2(x))). There is no norm1 and no attention. */
export class ConvFFNBlock extends Module {
  readonly norm2: LayerNorm;
  readonly mlp: DWMlp;
  readonly dropPath: DropPath;
  constructor(o: BlockOptions) {
    super();
    this.dropPath = this.addModule('drop_path', new DropPath(o.dropPath));
    this.norm2 = this.addModule('norm2', new LayerNorm(o.dim));
    this.mlp = this.addModule('mlp', new DWMlp(o.dim, Math.trunc(o.dim * o.mlpRatio), o.dropRate, o.init));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => add(x, this.dropPath.forward(this.mlp.forward(this.norm2.forward(x)))));
  }
}

/** Stage 3–4 block: x + DropPath(HiLo(norm1(x))), then x + DropPath(FFN(norm2(x))). */
export class AttentionBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: HiLo;
  readonly norm2: LayerNorm;
  readonly mlp: DWMlp;
  readonly dropPath: DropPath;
  constructor(o: BlockOptions) {
    super();
    this.norm1 = this.addModule('norm1', new LayerNorm(o.dim));
    this.attn = this.addModule('attn', new HiLo(o.dim, { numHeads: o.numHeads, qkvBias: o.qkvBias, qkScale: o.qkScale, windowSize: o.localWs, alpha: o.alpha, init: o.init }));
    this.dropPath = this.addModule('drop_path', new DropPath(o.dropPath));
    this.norm2 = this.addModule('norm2', new LayerNorm(o.dim));
    this.mlp = this.addModule('mlp', new DWMlp(o.dim, Math.trunc(o.dim * o.mlpRatio), o.dropRate, o.init));
  }
  forward(x: tf.Tensor4D, tap?: Tap): tf.Tensor4D {
    return tf.tidy(() => {
      const a = this.attn.forward(this.norm1.forward(x));
      tap?.('attn_out', a);
      const y = add(x, this.dropPath.forward(a));
      return add(y, this.dropPath.forward(this.mlp.forward(this.norm2.forward(y))));
    });
  }
}

/**
 * Deformable token merging: 2×2 stride-2 DCNv1 (`dconv`, with `dconv.conv_offset`), BatchNorm2d
 * (`norm_layer`), GELU. Halves H and W (floor), doubles channels.
 */
export class DTM extends Module {
  readonly dconv: DeformConv2dPack;
  readonly norm_layer: BatchNorm2d;
  constructor(readonly dim: number) {
    super();
    this.dconv = this.addModule('dconv', new DeformConv2dPack(dim, 2 * dim, 2, { stride: 2, padding: 0 }));
    this.norm_layer = this.addModule('norm_layer', new BatchNorm2d(2 * dim));
  }
  /** x [B, H, W, C] -> [B, floor(H/2), floor(W/2), 2C]. Taps: `offset`, `dconv`. */
  forward(x: tf.Tensor4D, tap?: Tap): tf.Tensor4D {
    const [, h, w] = x.shape;
    if (h < 2 || w < 2) throw new Error(`DTM: a ${h}x${w} map is too small to merge (needs at least 2x2)`);
    const y = this.dconv.forward(x, tap);
    tap?.('dconv', y);
    const out = tf.tidy(() => gelu(this.norm_layer.forward(y)));
    y.dispose();
    return out;
  }
}

/** One stage (official `LITLayer`): `blocks.{j}` then an optional `downsample` DTM. */
export class LITLayer extends Module {
  readonly blocks: ModuleList<ConvFFNBlock | AttentionBlock>;
  readonly downsample?: DTM;
  constructor(readonly dim: number, depth: number, hasMsa: boolean, o: Omit<BlockOptions, 'dim' | 'dropPath'>, dropPaths: number[], withDownsample: boolean) {
    super();
    this.blocks = this.addModule('blocks', new ModuleList<ConvFFNBlock | AttentionBlock>());
    for (let j = 0; j < depth; j++) {
      const bo = { ...o, dim, dropPath: dropPaths[j] ?? 0 };
      this.blocks.push(hasMsa ? new AttentionBlock(bo) : new ConvFFNBlock(bo));
    }
    if (withDownsample) this.downsample = this.addModule('downsample', new DTM(dim));
  }
  /** Runs the blocks; taps `block{j}_attn_out` for attention blocks. */
  forwardBlocks(x: tf.Tensor4D, tap?: Tap): tf.Tensor4D {
    let cur = x;
    this.blocks.items.forEach((blk, j) => {
      const next = blk instanceof AttentionBlock ? blk.forward(cur, tap && ((n, t) => tap(`block${j}_${n}`, t))) : blk.forward(cur);
      if (cur !== x) cur.dispose();
      cur = next;
    });
    return cur === x ? x.clone() : cur;
  }
}

/** Patch embedding: 4×4 stride-4 conv + LayerNorm. `padToPatch` zero-pads right/bottom first (dense copies). */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  readonly norm?: LayerNorm;
  constructor(readonly patchSize: number, inChans: number, embedDim: number, patchNorm: boolean, readonly padToPatch: boolean) {
    super();
    this.proj = this.addModule('proj', new Conv2d(inChans, embedDim, patchSize, { stride: patchSize }));
    if (patchNorm) this.norm = this.addModule('norm', new LayerNorm(embedDim));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w] = x.shape;
      const p = this.patchSize;
      const padB = (p - (h % p)) % p;
      const padR = (p - (w % p)) % p;
      if ((padB || padR) && !this.padToPatch) throw new Error(`PatchEmbed: input ${h}x${w} is not a multiple of the patch size ${p}`);
      const xp = padB || padR ? (tf.pad(x, [[0, 0], [0, padB], [0, padR], [0, 0]]) as tf.Tensor4D) : x;
      const y = this.proj.forward(xp);
      return this.norm ? this.norm.forward(y) : y;
    });
  }
}
