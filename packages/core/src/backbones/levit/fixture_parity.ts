/**
 * Parity with the LeViT reference fixtures (../shared/reference/backbones/levit_*.json, made by running the
 * official levit.py): rebuilds the model from `meta.ctor.expanded`, checks the closed-form bias index tables
 * against the stored buffers, loads the weights by official name, compares every stored intermediate and
 * both logits (training form and the BN-folded form, plus the stored `fused:` weights), and the parameter
 * count and FLOPs counter. Node-only (reads the .bin).
 */
import * as tf from '@tensorflow/tfjs';
import { compareArrays, compareExact, type Fixture, type TensorComparison, type Tolerance } from '../../parity/fixture_io';
import type { FixtureCheckOptions, FixtureHandler } from '../../parity/check';
import { LeViT, LeViTAttentionSubsample, LeViTMlp, LeViTResidual, type LeViTConfig, type LeViTDownOp } from './model';

type Meta = Record<string, unknown>;

/** The model of a fixture: official constructor arguments from `meta.ctor` (+ `expanded`). */
export function levitConfigOfFixture(fx: Fixture): LeViTConfig {
  const ctor = fx.meta.ctor as Meta | undefined;
  const ex = ctor?.expanded as Meta | undefined;
  if (!ctor || !ex) throw new Error(`${fx.file}: meta.ctor.expanded is missing`);
  const need = <T>(o: Meta, k: string): T => {
    if (!(k in o)) throw new Error(`${fx.file}: meta.ctor.expanded.${k} is missing`);
    return o[k] as T;
  };
  return {
    img_size: need<number>(ex, 'img_size'),
    patch_size: need<number>(ex, 'patch_size'),
    in_chans: (ex.in_chans as number | undefined) ?? 3,
    num_classes: (ctor.num_classes as number | undefined) ?? 1000,
    embed_dim: need<number[]>(ex, 'embed_dim'),
    key_dim: need<number[]>(ex, 'key_dim'),
    depth: need<number[]>(ex, 'depth'),
    num_heads: need<number[]>(ex, 'num_heads'),
    attn_ratio: need<number[]>(ex, 'attn_ratio'),
    mlp_ratio: need<number[]>(ex, 'mlp_ratio'),
    down_ops: need<LeViTDownOp[]>(ex, 'down_ops'),
    distillation: (ctor.distillation as boolean | undefined) ?? true,
    drop_path: (ex.drop_path as number | undefined) ?? 0,
  };
}

/** The reference layout of one of our tensors: NHWC maps become NCHW; tokens and vectors stay. */
function toReference(t: tf.Tensor, refShape: number[]): tf.Tensor {
  return tf.tidy(() => (t.rank === 4 && refShape.length === 4 ? t.transpose([0, 3, 1, 2]) : t.clone()));
}

/**
 * Per-tensor tolerance: the requested one, widened for the logits to twice the float32-vs-float64 spread the
 * generator measured on the same input (`meta.fp32_vs_fp64_logits_maxabs`): a deep BN network's float32 logits
 * cannot be reproduced closer than the reference's own rounding noise.
 */
function toleranceFor(fx: Fixture, name: string, opts: Tolerance): Tolerance {
  const noise = Number(fx.meta.fp32_vs_fp64_logits_maxabs ?? 0);
  if (name.startsWith('logits') || name === 'head_out' || name === 'head_dist_out') return { atol: Math.max(opts.atol, 2 * noise), rtol: opts.rtol };
  return opts;
}

function compare(fx: Fixture, name: string, ours: tf.Tensor, opts: Tolerance): TensorComparison {
  const e = fx.entry(name);
  const t = toReference(ours, e.shape);
  try {
    if (t.shape.join(',') !== e.shape.join(',')) return { name, shape: t.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `shape [${t.shape}] != expected [${e.shape}]` };
    return compareArrays(name, t.dataSync(), fx.array(name), e.shape, toleranceFor(fx, name, opts));
  } finally {
    t.dispose();
  }
}

/** A reference tensor in our layout (NCHW maps -> NHWC). */
function ref(fx: Fixture, name: string): tf.Tensor {
  return tf.tidy(() => {
    const t = fx.tensor(name);
    return t.rank === 4 ? t.transpose([0, 2, 3, 1]) : t;
  });
}

/**
 * Stage-wise parity: each stored tensor is produced from the reference's previous stored tensor (stem from x,
 * stage 1 from patch_embed_out, the subsample attention from stage1_out, ...), so every comparison sees
 * only its own segment's float32 rounding (tolerance as requested); the logits are compared end to end.
 */
function stagewise(fx: Fixture, model: LeViT, x: tf.Tensor4D, opts: Tolerance): TensorComparison[] {
  const rows: TensorComparison[] = [];
  const check = (name: string, run: () => tf.Tensor) => {
    if (!fx.has(name)) return;
    const t = tf.tidy(run);
    rows.push(compare(fx, name, t, opts));
    t.dispose();
  };
  const blocks = model.blocks.items;
  check('patch_embed_out', () => model.forwardStem(x));
  const tokens = (name: string) => {
    const t = ref(fx, name);
    const [b, h, w, c] = t.shape as number[];
    return t.rank === 4 ? (t.reshape([b, h * w, c]) as tf.Tensor3D) : (t as tf.Tensor3D);
  };
  const runBlocks = (input: tf.Tensor3D, from: number, to: number) => blocks.slice(from, to).reduce((t, b) => b.forward(t), input);
  check('block0_attn_branch', () => (blocks[0] as LeViTResidual).m.forward(tokens('patch_embed_out')));
  const subs = blocks.map((b, i) => (b instanceof LeViTAttentionSubsample ? i : -1)).filter((i) => i >= 0);
  let prevName = 'patch_embed_out';
  let start = 0;
  subs.forEach((si, k) => {
    const stage = k + 1;
    check(`stage${stage}_out`, () => runBlocks(tokens(prevName), start, si));
    check(`down${stage}_attn_out`, () => blocks[si].forward(tokens(`stage${stage}_out`)));
    const hasMlp = si + 1 < blocks.length && blocks[si + 1] instanceof LeViTResidual && (blocks[si + 1] as LeViTResidual).m instanceof LeViTMlp;
    check(`down${stage}_out`, () => runBlocks(tokens(`down${stage}_attn_out`), si + 1, hasMlp ? si + 2 : si + 1));
    prevName = hasMlp ? `down${stage}_out` : `down${stage}_attn_out`;
    start = hasMlp ? si + 2 : si + 1;
  });
  const last = `stage${subs.length + 1}_out`;
  check(last, () => runBlocks(tokens(prevName), start, blocks.length));
  check('features', () => tokens(last).mean(1));
  if (model.head) check('head_out', () => model.head!.forward(ref(fx, 'features') as tf.Tensor2D));
  if (model.head_dist) check('head_dist_out', () => model.head_dist!.forward(ref(fx, 'features') as tf.Tensor2D));
  return rows;
}

export const levitFixtureHandler: FixtureHandler = {
  name: 'levit',
  matches: (m) => String(m.meta?.module ?? '').startsWith('levit.py'),
  async run(fx: Fixture, opts: FixtureCheckOptions): Promise<TensorComparison[]> {
    const cfg = levitConfigOfFixture(fx);
    const rows: TensorComparison[] = [];
    const model = new LeViT(cfg);
    let fused: LeViT | undefined;
    try {
      // The bias index tables as built here (closed form) against the official buffers.
      const ours = model.stateDict();
      for (const [k, t] of Object.entries(ours)) {
        if (k.endsWith('attention_bias_idxs') && fx.has(k)) rows.push(compareArrays(`idxs:${k}`, t.dataSync(), fx.array(k), t.shape, { atol: 0, rtol: 0 }));
        t.dispose();
      }
      const params = fx.params();
      try {
        model.loadStateDict(params, { strict: true });
      } catch (e) {
        throw new Error(`${fx.file}: ${(e as Error).message}`);
      } finally {
        for (const t of Object.values(params)) t.dispose();
      }
      model.eval();
      if (typeof fx.meta.param_count === 'number') rows.push(compareExact('param_count', model.numParameters(), fx.meta.param_count));
      if (typeof fx.meta.flops_counter === 'number') rows.push(compareExact('flops_counter', model.flops(), fx.meta.flops_counter));
      const x = tf.tidy(() => fx.tensor('x').transpose([0, 2, 3, 1]) as tf.Tensor4D);
      rows.push(...stagewise(fx, model, x, opts));
      const logits = model.forward(x);
      if (fx.has('logits')) rows.push(compare(fx, 'logits', logits, opts));
      logits.dispose();
      fused = model.fuse().eval();
      const fsd = fused.stateDict();
      for (const e of fx.list('intermediate')) {
        if (!e.name.startsWith('fused:')) continue;
        const key = e.name.slice('fused:'.length);
        const t = fsd[key];
        rows.push(t ? compareArrays(e.name, t.dataSync(), fx.array(e.name), e.shape, opts) : { name: e.name, shape: e.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `the fused model has no '${key}'` });
      }
      for (const t of Object.values(fsd)) t.dispose();
      if (fx.has('logits_fused')) {
        const lf = fused.forward(x);
        rows.push(compare(fx, 'logits_fused', lf, opts));
        lf.dispose();
      }
      x.dispose();
      return rows;
    } finally {
      model.dispose();
      fused?.dispose();
    }
  },
};
