/**
 * Parity with the EfficientViT reference fixture (../shared/reference/backbones/efficientvit_*.json, made by
 * running microsoft/Cream's classification and downstream code): the classifier stage by stage (each stored
 * tensor produced from the reference's previous one), both logits (training form and BN-folded), the stored
 * `fused:` weights, the parameter count and bias index tables, and the downstream dense backbone's three
 * outputs on every stored input (also stage by stage; weights: the classifier's minus the head, with the `det_param:` tables).
 * Node-only (reads the .bin).
 */
import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../../nn/module';
import { compareArrays, compareExact, type Fixture, type TensorComparison, type Tolerance } from '../../parity/fixture_io';
import type { FixtureCheckOptions, FixtureHandler } from '../../parity/check';
import { EfficientViT, EfficientViTBackbone, EfficientViTBlock, PatchMerging, resizeBiasTable, type EfficientViTConfig } from './model';

type Meta = Record<string, unknown>;

/** The classifier of a fixture: `meta.ctor.model_cfg` + `meta.ctor.expanded`. */
export function efficientvitConfigOfFixture(fx: Fixture): EfficientViTConfig {
  const ctor = fx.meta.ctor as Meta | undefined;
  const mc = ctor?.model_cfg as Meta | undefined;
  const ex = (ctor?.expanded as Meta | undefined) ?? {};
  if (!ctor || !mc) throw new Error(`${fx.file}: meta.ctor.model_cfg is missing`);
  const need = <T>(k: string): T => {
    if (!(k in mc)) throw new Error(`${fx.file}: meta.ctor.model_cfg.${k} is missing`);
    return mc[k] as T;
  };
  const L = need<number[]>('embed_dim').length;
  return {
    img_size: need<number>('img_size'),
    patch_size: need<number>('patch_size'),
    in_chans: (mc.in_chans as number | undefined) ?? 3,
    num_classes: (ctor.num_classes as number | undefined) ?? 1000,
    stages: (ex.stages as string[] | undefined) ?? Array(L).fill('s'),
    embed_dim: need<number[]>('embed_dim'),
    key_dim: (ex.key_dim as number[] | undefined) ?? Array(L).fill(16),
    depth: need<number[]>('depth'),
    num_heads: need<number[]>('num_heads'),
    window_size: need<number[]>('window_size'),
    kernels: need<number[]>('kernels'),
    down_ops: (ex.down_ops as (string | number)[][] | undefined) ?? [['subsample', 2], ['subsample', 2], ['']],
    distillation: (ctor.distillation as boolean | undefined) ?? false,
  };
}

function toReference(t: tf.Tensor, refShape: number[]): tf.Tensor {
  return tf.tidy(() => (t.rank === 4 && refShape.length === 4 ? t.transpose([0, 3, 1, 2]) : t.clone()));
}

/** Logits (end to end) are compared within twice the reference's own float32-vs-float64 spread. */
function toleranceFor(fx: Fixture, name: string, opts: Tolerance): Tolerance {
  const noise = Number(fx.meta.fp32_vs_fp64_logits_maxabs ?? 0);
  return name.startsWith('logits') ? { atol: Math.max(opts.atol, 2 * noise), rtol: opts.rtol } : opts;
}

/**
 * Activations are compared with the requested tolerance, or 1e-5 of the reference tensor's largest magnitude
 * when that is wider: float32 rounding through one stage of 1x1 convs and attention on values up to ~50 (the
 * downstream stage-3 maps) is of that order, while a wrong operation is off by far more.
 */
function compare(fx: Fixture, name: string, ours: tf.Tensor, tol: Tolerance): TensorComparison {
  const e = fx.entry(name);
  const t = toReference(ours, e.shape);
  try {
    if (t.shape.join(',') !== e.shape.join(',')) return { name, shape: t.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `shape [${t.shape}] != expected [${e.shape}]` };
    const ref = fx.array(name);
    let absMax = 0;
    for (const v of ref) absMax = Math.max(absMax, Math.abs(v));
    return compareArrays(name, t.dataSync(), ref, e.shape, { atol: Math.max(tol.atol, 1e-5 * absMax), rtol: tol.rtol });
  } finally {
    t.dispose();
  }
}

const nhwc = (fx: Fixture, name: string) => tf.tidy(() => fx.tensor(name).transpose([0, 2, 3, 1]) as tf.Tensor4D);

function load(fx: Fixture, m: { loadStateDict(d: StateDict, o: { strict: boolean }): unknown }, sd: StateDict): void {
  try {
    m.loadStateDict(sd, { strict: true });
  } catch (e) {
    throw new Error(`${fx.file}: ${(e as Error).message}`);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

function stagewise(fx: Fixture, model: EfficientViT, x: tf.Tensor4D, opts: Tolerance): TensorComparison[] {
  const rows: TensorComparison[] = [];
  const check = (name: string, run: () => tf.Tensor) => {
    if (!fx.has(name)) return;
    const t = tf.tidy(run);
    rows.push(compare(fx, name, t, toleranceFor(fx, name, opts)));
    t.dispose();
  };
  check('patch_embed_out', () => model.forwardStem(x));
  let prev = 'patch_embed_out';
  model.stages.forEach((stage, i) => {
    const items = stage.items;
    const pm = items.findIndex((it) => it instanceof PatchMerging);
    const runItems = (input: tf.Tensor4D, from: number, to: number) => items.slice(from, to).reduce((t, it) => it.forward(t), input);
    const first = items.findIndex((it) => it instanceof EfficientViTBlock);
    check(`blocks${i + 1}_0_mixer_branch`, () => {
      const pre = runItems(nhwc(fx, prev), 0, first);
      const blk = items[first] as EfficientViTBlock;
      return blk.mixer.m.forward(blk.ffn0.forward(blk.dw0.forward(pre)));
    });
    if (pm >= 0 && fx.has(`blocks${i + 1}_patchmerge_out`)) {
      check(`blocks${i + 1}_patchmerge_out`, () => runItems(nhwc(fx, prev), 0, pm + 1));
      check(`blocks${i + 1}_out`, () => runItems(nhwc(fx, `blocks${i + 1}_patchmerge_out`), pm + 1, items.length));
    } else {
      check(`blocks${i + 1}_out`, () => runItems(nhwc(fx, prev), 0, items.length));
    }
    prev = `blocks${i + 1}_out`;
  });
  check('features', () => nhwc(fx, prev).mean([1, 2]));
  return rows;
}

export const efficientvitFixtureHandler: FixtureHandler = {
  name: 'efficientvit',
  matches: (m) => String(m.meta?.module ?? '').includes('EfficientViT/classification/model/efficientvit.py'),
  async run(fx: Fixture, opts: FixtureCheckOptions): Promise<TensorComparison[]> {
    const cfg = efficientvitConfigOfFixture(fx);
    const rows: TensorComparison[] = [];
    const model = new EfficientViT(cfg);
    let fused: EfficientViT | undefined;
    let det: EfficientViTBackbone | undefined;
    try {
      const ours = model.stateDict();
      for (const [k, t] of Object.entries(ours)) {
        if (k.endsWith('attention_bias_idxs') && fx.has(k)) rows.push(compareArrays(`idxs:${k}`, t.dataSync(), fx.array(k), t.shape, { atol: 0, rtol: 0 }));
        t.dispose();
      }
      load(fx, model, fx.params());
      model.eval();
      if (typeof fx.meta.param_count === 'number') rows.push(compareExact('param_count', model.numParameters(), fx.meta.param_count));
      const x = nhwc(fx, 'x');
      rows.push(...stagewise(fx, model, x, opts));
      if (fx.has('logits')) {
        const l = model.forward(x);
        rows.push(compare(fx, 'logits', l, toleranceFor(fx, 'logits', opts)));
        l.dispose();
      }
      fused = model.fuse().eval();
      const fsd = fused.stateDict();
      for (const e of fx.list('intermediate')) {
        if (!e.name.startsWith('fused:')) continue;
        const t = fsd[e.name.slice('fused:'.length)];
        rows.push(t ? compareArrays(e.name, t.dataSync(), fx.array(e.name), e.shape, opts) : { name: e.name, shape: e.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: 'no such key in the fused model' });
      }
      for (const t of Object.values(fsd)) t.dispose();
      if (fx.has('logits_fused')) {
        const l = fused.forward(x);
        rows.push(compare(fx, 'logits_fused', l, toleranceFor(fx, 'logits_fused', opts)));
        l.dispose();
      }
      x.dispose();

      const detMeta = fx.meta.det_backbone as Meta | undefined;
      const cases = (detMeta?.cases as { input: string; outputs: string[] }[] | undefined) ?? [];
      if (cases.length) {
        det = new EfficientViTBackbone({ ...cfg, num_classes: 0 });
        const sd = fx.params((e) => !e.name.startsWith('head.') && !e.name.startsWith('head_dist.') && !e.name.startsWith('det_param:'));
        for (const e of fx.list()) {
          if (!e.name.startsWith('det_param:')) continue;
          const k = e.name.slice('det_param:'.length);
          if (k.endsWith('attention_biases') && fx.has(k)) {
            // The official init_weights' bicubic resize of the classifier's table, reproduced here.
            const [h, l1] = fx.entry(k).shape;
            const l2 = e.shape[1];
            rows.push(compareArrays(`bicubic:${k}`, resizeBiasTable(fx.array(k), h, Math.round(Math.sqrt(l1)), Math.round(Math.sqrt(l2))), fx.array(e.name), e.shape, { atol: 1e-5, rtol: 1e-5 }));
          }
          sd[k]?.dispose();
          sd[k] = fx.tensor(e.name);
        }
        load(fx, det, sd);
        det.eval();
        if (typeof detMeta?.param_count === 'number') rows.push(compareExact('det_param_count', det.numParameters(), detMeta.param_count));
        for (const c of cases) {
          // Stage-wise as for the classifier: output 0 from the image, output k from the reference output k-1.
          const d = det;
          c.outputs.forEach((name, i) => {
            const out = tf.tidy(() => (i === 0 ? d.forwardStage(0, d.forwardStem(nhwc(fx, c.input))) : d.forwardStage(i, nhwc(fx, c.outputs[i - 1]))));
            rows.push(compare(fx, name, out, opts));
            out.dispose();
          });
        }
      }
      return rows;
    } finally {
      model.dispose();
      fused?.dispose();
      det?.dispose();
    }
  },
};
