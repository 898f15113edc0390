import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type ConfigNode, type StateDict } from '@litv2/core';
import { Fixture, compareArrays, compareExact, type FixtureCheckOptions, type FixtureHandler, type FixtureManifest, type TensorComparison } from '@litv2/core/node';
import { segmentorFromConfig, type EncoderDecoder, type SegImageMeta } from '../models/encoder_decoder';
import { resizeBilinear } from '../ops/resize';

interface SemFpnCase {
  tag: string;
  input_hw: [number, number];
  ori_shape: [number, number, number];
  img_meta: SegImageMeta;
}

type Meta = Record<string, unknown>;

function req<T>(fx: Fixture, obj: Meta | undefined, key: string, where: string): T {
  if (!obj || !(key in obj)) throw new Error(`${fx.file}: ${where}.${key} is missing`);
  return obj[key] as T;
}

/** Our NHWC result against a stored NCHW (or any-layout) reference. */
function compareNhwc(name: string, ours: tf.Tensor, fx: Fixture, opts: FixtureCheckOptions): TensorComparison {
  const want = fx.entry(name);
  const t = tf.tidy(() => (ours.rank === 4 && want.shape.length === 4 ? ours.transpose([0, 3, 1, 2]) : ours.reshape(want.shape.length ? want.shape : [])));
  try {
    if (t.shape.join(',') !== want.shape.join(',')) {
      return { name, shape: t.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `shape [${t.shape}] != expected [${want.shape}]` };
    }
    return compareArrays(name, t.dataSync(), fx.array(name), want.shape, opts);
  } finally {
    t.dispose();
  }
}

/** Exact comparison of integer maps (argmax labels). */
function compareLabels(name: string, ours: tf.Tensor, fx: Fixture): TensorComparison {
  const want = fx.array(name);
  const got = ours.dataSync();
  let bad = -1;
  let n = 0;
  if (got.length === want.length) for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) (n++, bad < 0 && (bad = i));
  const ok = got.length === want.length && n === 0;
  return {
    name,
    shape: ours.shape,
    maxAbs: ok ? 0 : Infinity,
    maxRel: ok ? 0 : Infinity,
    ok,
    detail: ok ? undefined : got.length !== want.length ? `size ${got.length} != ${want.length}` : `${n} labels differ, first at ${bad}: got ${got[bad]}, expected ${want[bad]}`,
  };
}

/** The mmseg model config of the fixture as an EncoderDecoder config (backbone_cfg + config, seg variant). */
export function semFpnModelConfig(fx: Fixture): ConfigNode {
  const config = req<Meta>(fx, fx.meta, 'config', 'meta');
  const backboneCfg = req<Meta>(fx, fx.meta, 'backbone_cfg', 'meta');
  return {
    type: 'EncoderDecoder',
    backbone: { ...backboneCfg, type: backboneCfg.type ?? 'LITv2', variant: 'seg' },
    neck: config.neck ?? null,
    decode_head: req<Meta>(fx, config, 'decode_head', 'meta.config'),
    train_cfg: config.train_cfg ?? {},
    test_cfg: config.test_cfg ?? { mode: 'whole' },
  };
}

/** Backbone tensors of the LITv2 backbone fixture (entries used by 'seg'), keyed `backbone.<k>`. */
export function loadSegBackboneWeights(file: string): StateDict {
  if (!fs.existsSync(file)) throw new Error(`backbone weights not found: ${file} (pass --backbone-weights <litv2_tiny_backbone.json>)`);
  const bb = Fixture.load(file);
  const out: StateDict = {};
  for (const [k, t] of Object.entries(bb.params((e) => !e.used_by || e.used_by.includes('seg')))) out[`backbone.${k}`] = t;
  return out;
}

/** Builds the fixture's Semantic FPN and loads backbone (from `backboneWeights`) + neck/head (from the fixture) strictly. */
export function buildSemFpnFromFixture(fx: Fixture, backboneWeights: string): EncoderDecoder {
  const model = segmentorFromConfig(semFpnModelConfig(fx), { file: fx.file, path: 'meta.config' });
  const dict: StateDict = { ...loadSegBackboneWeights(backboneWeights), ...fx.params() };
  try {
    model.loadStateDict(dict, { strict: true });
  } catch (e) {
    model.dispose();
    throw new Error(`${fx.file}: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(dict));
  }
  return model.eval();
}

/**
 * Re-runs every case of a Semantic FPN fixture (mmseg EncoderDecoder + FPNHead) and compares backbone and
 * neck outputs, quarter-resolution logits, input-size logits, probabilities at ori size, the argmax map
 * (exactly), loss_seg, acc_seg and d loss / d quarter logits.
 */
export async function runSemFpnFixture(fx: Fixture, opts: FixtureCheckOptions): Promise<TensorComparison[]> {
  // Default: the LITv2 backbone fixture next to the detection fixtures (shared/reference/litv2/fixtures).
  const weights = opts.backboneWeights ?? path.resolve(path.dirname(fx.file), '../litv2/fixtures/litv2_tiny_backbone.json');
  const model = buildSemFpnFromFixture(fx, weights);
  const rows: TensorComparison[] = [];
  try {
    for (const c of req<SemFpnCase[]>(fx, fx.meta, 'cases', 'meta')) {
      const t = c.tag;
      const has = (n: string) => fx.has(`${t}.${n}`);
      opts.log?.(`case ${t}: input ${c.input_hw.join('x')}, ori ${c.ori_shape.slice(0, 2).join('x')}`);
      const img = tf.tidy(() => fx.tensor(`${t}.input`).transpose([0, 2, 3, 1]) as tf.Tensor4D);
      const labels = tf.tidy(() => fx.tensor(`${t}.gt_semantic_seg`).squeeze([1]).toInt() as tf.Tensor3D);
      const feats = model.backbone.forward(img);
      feats.forEach((f, i) => has(`backbone_out${i}`) && rows.push(compareNhwc(`${t}.backbone_out${i}`, f, fx, opts)));
      const neck = model.neck ? model.neck.forward(feats) : feats;
      if (model.neck) neck.forEach((f, i) => has(`neck_out${i}`) && rows.push(compareNhwc(`${t}.neck_out${i}`, f, fx, opts)));
      const quarter = model.decodeHead.forward(neck);
      rows.push(compareNhwc(`${t}.seg_logits_quarter`, quarter, fx, opts));
      const inputSize = resizeBilinear(quarter, [img.shape[1], img.shape[2]], model.decodeHead.alignCorners);
      rows.push(compareNhwc(`${t}.seg_logits_input_size`, inputSize, fx, opts));
      // The full test path (mmseg simple_test with rescale): encode_decode, resize to ori_shape, softmax, argmax.
      const meta = { ...c.img_meta, ori_shape: c.ori_shape };
      const prob = model.inference(img, meta, true);
      if (has('seg_prob_ori_size')) rows.push(compareNhwc(`${t}.seg_prob_ori_size`, prob, fx, opts));
      const pred = model.simpleTest(img, meta, true);
      rows.push(compareLabels(`${t}.seg_pred_ori_size`, pred, fx));
      const losses = model.decodeHead.losses(quarter, labels);
      rows.push(compareNhwc(`${t}.loss_seg`, losses.loss_seg, fx, opts));
      rows.push(compareNhwc(`${t}.acc_seg`, losses.acc_seg, fx, opts));
      const grad = tf.grad((q: tf.Tensor) => tf.tidy(() => model.decodeHead.losses(q as tf.Tensor4D, labels).loss_seg))(quarter);
      rows.push(compareNhwc(`${t}.grad_seg_logits_quarter`, grad, fx, opts));
      const metaCase = c as unknown as Meta;
      if (typeof metaCase.n_ignored === 'number') {
        const nIgnored = tf.tidy(() => labels.equal(255).sum().dataSync()[0]);
        rows.push(compareExact(`${t}.n_ignored`, nIgnored, metaCase.n_ignored));
      }
      tf.dispose([img, labels, ...feats, ...(model.neck ? neck : []), quarter, inputSize, prob, pred, losses.loss_seg, losses.acc_seg, grad]);
    }
  } finally {
    model.dispose();
  }
  return rows;
}

const isSemFpn = (m: FixtureManifest): boolean => {
  const cfg = m.meta?.config as Meta | undefined;
  const head = cfg?.decode_head as Meta | undefined;
  return head?.type === 'FPNHead';
};

/** check-fixture handler for Semantic FPN manifests (recognised by `meta.config.decode_head.type: FPNHead`). */
export const semFpnFixtureHandler: FixtureHandler = {
  name: 'segmentation:semantic-fpn',
  matches: isSemFpn,
  run: runSemFpnFixture,
};
