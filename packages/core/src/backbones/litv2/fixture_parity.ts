import * as tf from '@tensorflow/tfjs';
import type { Module, StateDict } from '../../nn/module';
import { HiLo } from '../../attention/hilo';
import { DTM } from './blocks';
import { LITv2, type LITv2ClsConfig } from './classifier';
import { LITv2Backbone, type LITv2BackboneConfig } from './backbone';
import { compareArrays, compareExact, compareTensor, type Fixture, type FixtureManifest, type TensorComparison } from '../../parity/fixture_io';
import type { FixtureCheckOptions, FixtureHandler } from '../../parity/check';

type Meta = Record<string, unknown>;

function field<T>(fx: Fixture, obj: Meta, key: string, where: string): T {
  if (!(key in obj)) throw new Error(`${fx.file}: ${where}.${key} is missing`);
  return obj[key] as T;
}

/** NCHW -> NHWC for image inputs stored in PyTorch layout. */
function nchwToNhwc(t: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => t.transpose([0, 2, 3, 1]) as tf.Tensor4D);
}

/**
 * Brings one of our NHWC activations into the layout of a reference tensor: rank-3 references are
 * (B, H·W, C) tokens, rank-4 ones NCHW maps (except HiLo branch outputs, stored NHWC).
 */
function toReferenceLayout(t: tf.Tensor, refShape: number[], refIsNhwc = false): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, c] = t.shape as number[];
    if (t.rank === 4 && refShape.length === 3) return t.reshape([b, h * w, c]);
    if (t.rank === 4 && refShape.length === 4 && !refIsNhwc) return t.transpose([0, 3, 1, 2]);
    return t.clone();
  });
}

/** Comparisons in the order made; tensor ones resolve once read back (GPU backends read asynchronously). */
type Rows = (TensorComparison | Promise<TensorComparison>)[];

/** Copies `ours` in the reference layout now (taps run mid-forward) and compares it once it is read back. */
async function compareToRef(name: string, ours: tf.Tensor, fx: Fixture, opts: FixtureCheckOptions, refIsNhwc = false): Promise<TensorComparison> {
  const e = fx.entry(name);
  // kept: a tap may run inside the caller's tidy, which ends before the read does.
  const t = tf.keep(toReferenceLayout(ours, e.shape, refIsNhwc));
  try {
    return await compareTensor(name, t, fx, name, opts);
  } finally {
    t.dispose();
  }
}

function loadParams(fx: Fixture, m: Module, dict: StateDict, strict: boolean): void {
  try {
    m.loadStateDict(dict, { strict });
  } catch (e) {
    throw new Error(`${fx.file}: ${(e as Error).message}`);
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
}

const moduleName = (m: FixtureManifest) => String(m.meta?.module ?? '');

/** HiLo cases: ctor {dim, num_heads, qkv_bias, qk_scale, window_size, alpha}; cases {H, W, input, output}. */
export const hiloFixtureHandler: FixtureHandler = {
  name: 'litv2:hilo',
  matches: (m) => moduleName(m).startsWith('HiLo'),
  async run(fx, opts) {
    const ctor = field<Meta>(fx, fx.meta, 'ctor', 'meta');
    const dim = field<number>(fx, ctor, 'dim', 'meta.ctor');
    const hilo = new HiLo(dim, {
      numHeads: field<number>(fx, ctor, 'num_heads', 'meta.ctor'),
      qkvBias: field<boolean>(fx, ctor, 'qkv_bias', 'meta.ctor'),
      qkScale: (ctor.qk_scale as number | null | undefined) ?? null,
      windowSize: field<number>(fx, ctor, 'window_size', 'meta.ctor'),
      alpha: field<number>(fx, ctor, 'alpha', 'meta.ctor'),
      init: false,
    });
    try {
      loadParams(fx, hilo, fx.params(), true);
      hilo.eval();
      const rows: Rows = [];
      const derived = fx.meta.derived as Meta | undefined;
      if (derived) {
        const s = hilo.split;
        const ours: Record<string, number> = { head_dim: s.headDim, l_heads: s.lHeads, l_dim: s.lDim, h_heads: s.hHeads, h_dim: s.hDim, scale: s.scale };
        for (const [k, v] of Object.entries(derived)) {
          if (!(k in ours)) continue;
          // Head counts are exact; the scale may differ from Python's pow() in the last bit of a double
          // (identical once rounded to float32), so it gets a 1e-12 relative tolerance.
          rows.push(k === 'scale' ? compareArrays(`derived.${k}`, [ours[k]], [v as number], [], { atol: 0, rtol: 1e-12 }) : compareExact(`derived.${k}`, ours[k], v as number));
        }
      }
      const flopsRef = (fx.meta.flops_official_formula ?? {}) as Record<string, number>;
      for (const c of field<Meta[]>(fx, fx.meta, 'cases', 'meta')) {
        const h = c.H as number;
        const w = c.W as number;
        const tag = `${h}x${w}`;
        const x = fx.tensor(c.input as string);
        const [b, n, ch] = x.shape;
        if (n !== h * w || ch !== dim) throw new Error(`${fx.file}: input '${String(c.input)}' has shape [${x.shape}], expected [B, ${h * w}, ${dim}]`);
        const xm = x.reshape([b, h, w, ch]) as tf.Tensor4D;
        const r = hilo.forwardBranches(xm);
        tf.dispose([x, xm]);
        rows.push(compareToRef(c.output as string, r.out, fx, opts));
        if (r.hifi && fx.has(`hifi_${tag}`)) rows.push(compareToRef(`hifi_${tag}`, r.hifi, fx, opts, true));
        if (r.lofi && fx.has(`lofi_${tag}`)) rows.push(compareToRef(`lofi_${tag}`, r.lofi, fx, opts, true));
        tf.dispose([r.out, r.hifi, r.lofi].filter((t): t is tf.Tensor4D => !!t));
        if (tag in flopsRef) rows.push(compareExact(`flops_${tag}`, hilo.flops(h, w), flopsRef[tag]));
      }
      return Promise.all(rows);
    } finally {
      hilo.dispose();
    }
  },
};

/** DTM cases: ctor {dim}; cases {H, W}; tensors x_/offset_/dconv_/out_{H}x{W}. */
export const dtmFixtureHandler: FixtureHandler = {
  name: 'litv2:dtm',
  matches: (m) => moduleName(m).startsWith('DTM'),
  async run(fx, opts) {
    const ctor = field<Meta>(fx, fx.meta, 'ctor', 'meta');
    const dim = field<number>(fx, ctor, 'dim', 'meta.ctor');
    const dtm = new DTM(dim);
    try {
      loadParams(fx, dtm, fx.params(), true);
      dtm.eval();
      const rows: Rows = [];
      for (const c of field<Meta[]>(fx, fx.meta, 'cases', 'meta')) {
        const tag = `${c.H}x${c.W}`;
        const x = fx.tensor(`x_${tag}`);
        const [b] = x.shape;
        const xm = x.reshape([b, c.H as number, c.W as number, dim]) as tf.Tensor4D;
        const out = dtm.forward(xm, (name, t) => {
          const ref = `${name}_${tag}`;
          if (fx.has(ref)) rows.push(compareToRef(ref, t, fx, opts));
        });
        rows.push(compareToRef(`out_${tag}`, out, fx, opts));
        tf.dispose([x, xm, out]);
      }
      return Promise.all(rows);
    } finally {
      dtm.dispose();
    }
  },
};

/** Runs a traced forward and compares every tapped tensor the fixture holds. */
function tapInto(fx: Fixture, opts: FixtureCheckOptions, rows: Rows, prefix = '') {
  return (name: string, t: tf.Tensor) => {
    const ref = prefix + name;
    if (fx.has(ref) && fx.entry(ref).role !== 'param') rows.push(compareToRef(ref, t, fx, opts));
  };
}

/** The classification model fixture: ctor = official LITv2 constructor arguments; single `input`. */
export const litv2ClsFixtureHandler: FixtureHandler = {
  name: 'litv2:classification',
  matches: (m) => moduleName(m).includes('classification/models/litv2.py'),
  async run(fx, opts) {
    const ctor = field<Meta>(fx, fx.meta, 'ctor', 'meta') as Partial<LITv2ClsConfig>;
    const model = new LITv2(ctor, { init: false });
    try {
      loadParams(fx, model, fx.params(), true);
      model.eval();
      const rows: Rows = [];
      if (typeof fx.meta.param_count === 'number') rows.push(compareExact('param_count', model.numParameters(), fx.meta.param_count));
      const inputName = fx.list('input')[0]?.name;
      if (!inputName) throw new Error(`${fx.file}: no tensor with role 'input'`);
      const x = fx.tensor(inputName);
      const xm = nchwToNhwc(x);
      x.dispose();
      opts.log?.(`  running LITv2 (embed ${model.cfg.embed_dim}, depths ${model.cfg.depths}) on [${xm.shape}] NHWC`);
      const logits = model.forward(xm, tapInto(fx, opts, rows));
      tf.dispose([xm, logits]);
      return Promise.all(rows);
    } finally {
      model.dispose();
    }
  },
};

/** The det/seg backbone fixture: ctor has `local_ws` per variant ('det_ws2', 'seg_ws2', ...). */
export const litv2BackboneFixtureHandler: FixtureHandler = {
  name: 'litv2:dense-backbone',
  matches: (m) => moduleName(m).includes('mmdet/models/backbones/litv2.py') || moduleName(m).includes('mmseg/models/backbones/litv2.py'),
  async run(fx, opts) {
    const ctor = field<Meta>(fx, fx.meta, 'ctor', 'meta');
    const wsByVariant = field<Record<string, number[]>>(fx, ctor, 'local_ws', 'meta.ctor');
    const rows: Rows = [];
    const built = new Map<string, LITv2Backbone>();
    try {
      for (const c of field<Meta[]>(fx, fx.meta, 'cases', 'meta')) {
        const variantName = c.variant as string;
        const kind = variantName.split('_')[0];
        if (kind !== 'det' && kind !== 'seg') throw new Error(`${fx.file}: case variant '${variantName}' should start with 'det_' or 'seg_'`);
        let bb = built.get(variantName);
        if (!bb) {
          const local_ws = wsByVariant[variantName];
          if (!local_ws) throw new Error(`${fx.file}: meta.ctor.local_ws has no entry for variant '${variantName}'`);
          const cfg: Partial<LITv2BackboneConfig> = { ...(ctor as Partial<LITv2BackboneConfig>), local_ws, variant: kind };
          bb = new LITv2Backbone(cfg, { init: false });
          // Parameters tagged with the consumers that use them; untagged ones are shared.
          loadParams(fx, bb, fx.params((e) => !e.used_by || e.used_by.includes(kind)), true);
          bb.eval();
          built.set(variantName, bb);
        }
        const inputName = c.input as string;
        const tag = inputName.replace(/^input_/, '');
        const x = fx.tensor(inputName);
        const xm = nchwToNhwc(x);
        x.dispose();
        const outs = bb.forward(xm);
        outs.forEach((o, k) => {
          const ref = `${variantName}_${tag}_out${bb!.cfg.out_indices[k]}`;
          if (fx.has(ref)) rows.push(compareToRef(ref, o, fx, opts));
        });
        tf.dispose([xm, ...outs]);
      }
      return Promise.all(rows);
    } finally {
      for (const bb of built.values()) bb.dispose();
    }
  },
};

/** Handlers for every LITv2 fixture kind (HiLo, DTM, classification model, dense backbones). */
export const LITV2_FIXTURE_HANDLERS: readonly FixtureHandler[] = [hiloFixtureHandler, dtmFixtureHandler, litv2ClsFixtureHandler, litv2BackboneFixtureHandler];
