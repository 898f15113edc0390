import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKBONES, HEADS, Module, NECKS, type ConfigNode, type Neck, type StateDict } from '@litv2/core';
import { Fixture } from '@litv2/core/node';
import type { RetinaHead } from '../heads/retina_head';
import '../builtin';
import type { AnchorHeadOutputs } from '../heads/anchor_head';
import { buildDetector } from '../detectors/detector';
import { SingleStageDetector } from '../detectors/single_stage';
import type { DetImgMeta } from '../structures/img_meta';
import { nchwToNhwc } from './fixture';
import { CheckReport, compareDetections } from './report';

export interface RetinaFixtureOptions {
  /** The RetinaNet manifest (e.g. shared/reference/detection/retinanet_tiny.json). */
  fixture: string;
  /** LITv2 backbone fixture whose `det` tensors are the backbone weights (`backbone.<k>` = `<k>`). */
  backboneWeights?: string;
  /**
   * 'full' runs backbone + neck + head; 'neck-head' feeds the stored backbone outputs to neck + head (no
   * backbone implementation needed). Default: 'full' when a LITv2 backbone is registered.
   */
  mode?: 'full' | 'neck-head';
  /** Subset of `meta.variants` (default all). */
  variants?: string[];
  /** Complete weights to load instead of fixture + backbone fixture (e.g. from retinanet_tiny.pth). */
  stateDict?: StateDict;
  atol?: number;
  rtol?: number;
}

/** Is this manifest a RetinaNet fixture (recognised from meta.config / meta.produced_by)? */
export function isRetinaNetManifest(json: { meta?: Record<string, unknown> }): boolean {
  const meta = json.meta ?? {};
  const head = (meta.config as { bbox_head?: { type?: string } } | undefined)?.bbox_head;
  if (head?.type === 'RetinaHead') return true;
  const by = meta.produced_by as { detector?: string } | undefined;
  return typeof by?.detector === 'string' && by.detector.includes('RetinaNet');
}

/** Neck + head only, with mmdet names `neck.*` and `bbox_head.*`. */
class NeckHead extends Module {
  readonly neck: Neck;
  readonly bboxHead: RetinaHead;
  constructor(neckCfg: ConfigNode, headCfg: ConfigNode) {
    super();
    this.neck = this.addModule('neck', NECKS.build(neckCfg, undefined, { path: 'model.neck' }));
    this.bboxHead = this.addModule('bbox_head', HEADS.build(headCfg, undefined, { path: 'model.bbox_head' }) as RetinaHead);
  }
}

function fixtureParams(fx: Fixture, keep: (name: string) => boolean, prefix = ''): StateDict {
  const out: StateDict = {};
  for (const e of fx.manifest.tensors) {
    if (e.role !== 'param' || !keep(e.name)) continue;
    const t = fx.get(e.name);
    out[prefix + e.name] = tf.tensor(t.data, t.shape);
  }
  return out;
}

const toNhwcTensor = (t: { data: Float32Array; shape: number[] }): tf.Tensor4D => {
  const [n, c, h, w] = t.shape;
  return tf.tensor4d(nchwToNhwc(t.data, t.shape), [n, h, w, c]);
};

/** Default LITv2 backbone fixture next to the detection fixtures. */
export function defaultBackboneWeights(fixtureFile: string): string {
  return path.resolve(path.dirname(fixtureFile), '../litv2/fixtures/litv2_tiny_backbone.json');
}

/**
 * Rebuilds the fixture's RetinaNet from `meta.config` / `meta.backbone_cfg` (any widths, classes, stacked
 * convs, window variants), loads the stored weights, and compares every stored output: backbone and neck maps,
 * head outputs, pre-NMS candidates, detections (with and without rescale), per-level losses, loss gradients and
 * assigned targets.
 */
export async function checkRetinaNetFixture(opts: RetinaFixtureOptions): Promise<CheckReport> {
  const fx = Fixture.load(opts.fixture);
  const meta = fx.meta as {
    config: { neck: ConfigNode; bbox_head: ConfigNode; train_cfg: ConfigNode; test_cfg: ConfigNode };
    backbone_cfg: ConfigNode & { local_ws?: Record<string, number[]> | number[] };
    variants?: string[];
    img_metas: Record<string, DetImgMeta>;
    results?: Record<string, { detections?: Record<string, unknown>; num_total_pos?: number }>;
  };
  if (!isRetinaNetManifest(fx.manifest)) throw new Error(`${opts.fixture}: not a RetinaNet fixture (meta.config.bbox_head.type != RetinaHead)`);
  const report = new CheckReport(opts.atol ?? 1e-4, opts.rtol ?? 1e-4);
  const mode = opts.mode ?? (BACKBONES.has('LITv2') ? 'full' : 'neck-head');
  const variants = opts.variants ?? meta.variants ?? [''];
  const headCfg: ConfigNode = { ...meta.config.bbox_head, train_cfg: meta.config.train_cfg, test_cfg: meta.config.test_cfg };

  for (const variant of variants) {
    const pre = variant ? `${variant}.` : '';
    const tag = (s: string) => `${pre}${s}`;
    await tf.ready();
    let model: SingleStageDetector | NeckHead;
    if (mode === 'full') {
      const lws = meta.backbone_cfg.local_ws;
      const bcfg: ConfigNode = { ...meta.backbone_cfg, variant: 'det' };
      if (lws && !Array.isArray(lws)) bcfg.local_ws = lws[variant];
      model = buildDetector({ type: 'RetinaNet', backbone: bcfg, neck: meta.config.neck, bbox_head: meta.config.bbox_head, train_cfg: meta.config.train_cfg, test_cfg: meta.config.test_cfg }) as unknown as SingleStageDetector;
    } else {
      model = new NeckHead(meta.config.neck, headCfg);
    }
    let weights = opts.stateDict;
    let own = false;
    if (!weights) {
      own = true;
      weights = fixtureParams(fx, () => true);
      if (mode === 'full') {
        const bfx = Fixture.load(opts.backboneWeights ?? defaultBackboneWeights(opts.fixture));
        Object.assign(weights, fixtureParams(bfx, (n) => (bfx.manifest.tensors.find((e) => e.name === n)?.used_by ?? ['det']).includes('det'), 'backbone.'));
      }
    }
    const sd = mode === 'full' ? weights : Object.fromEntries(Object.entries(weights).filter(([k]) => !k.startsWith('backbone.')));
    model.loadStateDict(sd, { strict: true });
    if (own) tf.dispose(Object.values(weights));
    model.eval();
    // Counted after construction: only the forward / post-processing / loss path must be tensor-clean.
    const start = tf.memory().numTensors;

    const img = toNhwcTensor(fx.get('input'));
    let outs: AnchorHeadOutputs;
    if (model instanceof SingleStageDetector) {
      const feats = model.backbone.forward(img);
      for (let i = 0; i < feats.length; i++) {
        const name = tag(`backbone_out${i}`);
        if (fx.has(name)) report.close(name, await feats[i].data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
      }
      const neckOuts = model.neck.forward(feats);
      for (let i = 0; i < neckOuts.length; i++) {
        const name = tag(`neck_out${i}`);
        if (fx.has(name)) report.close(name, await neckOuts[i].data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
      }
      outs = model.bboxHead.forward(neckOuts);
      tf.dispose([...feats, ...neckOuts]);
    } else {
      const nIn = (meta.config.neck.in_channels as number[]).length;
      const feats: tf.Tensor4D[] = [];
      for (let i = 0; i < nIn; i++) {
        const name = tag(`backbone_out${i}`);
        // Levels below start_level are never read by the FPN; a placeholder stands in for them.
        feats.push(fx.has(name) ? toNhwcTensor(fx.get(name)) : tf.zeros([1, 1, 1, 1]));
      }
      const neckOuts = model.neck.forward(feats);
      for (let i = 0; i < neckOuts.length; i++) {
        const name = tag(`neck_out${i}`);
        if (fx.has(name)) report.close(name, await neckOuts[i].data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
      }
      outs = model.bboxHead.forward(neckOuts);
      tf.dispose([...feats, ...neckOuts]);
    }
    img.dispose();
    const head = model.bboxHead;
    for (let l = 0; l < outs.clsScores.length; l++) {
      for (const [key, t] of [[`cls_score${l}`, outs.clsScores[l]], [`bbox_pred${l}`, outs.bboxPreds[l]]] as const) {
        const name = tag(key);
        if (fx.has(name)) report.close(name, await t.data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
      }
    }

    // Post-processing for every stored (meta, rescale) combination.
    const detKeys = new Set<string>();
    for (const n of fx.names()) {
      const m = n.match(new RegExp(`^${pre.replace('.', '\\.')}(meta_[A-Za-z0-9_]+)\\.rescale_(True|False)\\.`));
      if (m) detKeys.add(`${m[1]}|${m[2]}`);
    }
    const nc = head.numClasses;
    for (const k of detKeys) {
      const [metaName, resc] = k.split('|');
      const imgMeta = meta.img_metas[metaName];
      if (!imgMeta) {
        report.fail(tag(metaName), `img_metas has no '${metaName}'`);
        continue;
      }
      const rescale = resc === 'True';
      const base = tag(`${metaName}.rescale_${resc}`);
      const cand = head.getCandidates(outs, [imgMeta], rescale);
      const bb = (await cand.bboxes.data()) as Float32Array;
      const sc = (await cand.scores.data()) as Float32Array;
      const mCount = cand.bboxes.shape[1];
      tf.dispose([cand.bboxes, cand.scores]);
      if (fx.has(`${base}.pre_nms_bboxes`)) {
        report.closeBoxes(`${base}.pre_nms_bboxes`, bb, fx.get(`${base}.pre_nms_bboxes`).data);
        const withBg = new Float32Array(mCount * (nc + 1));
        for (let j = 0; j < mCount; j++) withBg.set(sc.subarray(j * nc, (j + 1) * nc), j * (nc + 1));
        report.close(`${base}.pre_nms_scores`, withBg, fx.get(`${base}.pre_nms_scores`).data);
      }
      if (fx.has(`${base}.det_bboxes`)) {
        const [dets] = head.nmsCandidates(bb, sc, 1, mCount);
        compareDetections(report, `${base}.detections`, dets, fx.get(`${base}.det_bboxes`).data, fx.get(`${base}.det_labels`).data);
      }
    }

    // Training targets, losses and gradients (computed on the eval-mode outputs, as the fixture was).
    if (fx.has('gt_bboxes') && fx.has(tag('loss_cls0'))) {
      const gtB = fx.get('gt_bboxes');
      const gtL = fx.get('gt_labels');
      const gtBboxes = tf.tensor2d(gtB.data, gtB.shape as [number, number]);
      const gtLabels = tf.tensor1d(Int32Array.from(gtL.data), 'int32');
      const lossMeta = meta.img_metas.meta_scale1 ?? Object.values(meta.img_metas)[0];
      const sizes = outs.clsScores.map((c) => [c.shape[1], c.shape[2]] as [number, number]);
      const targets = head.getTargets(sizes, [gtBboxes], [gtLabels], [lossMeta]);
      const npos = (await targets.numTotalPos.data())[0];
      const expPos = meta.results?.[variant]?.num_total_pos;
      if (expPos !== undefined) report.exact(tag('num_total_pos'), [npos], [expPos]);
      if (fx.has(tag('target_labels'))) {
        report.exact(tag('target_labels'), await targets.labels.data(), fx.get(tag('target_labels')).data);
        report.close(tag('target_label_weights'), await targets.labelWeights.data(), fx.get(tag('target_label_weights')).data);
        report.close(tag('target_bbox_targets'), await targets.bboxTargets.data(), fx.get(tag('target_bbox_targets')).data);
        report.close(tag('target_bbox_weights'), await targets.bboxWeights.data(), fx.get(tag('target_bbox_weights')).data);
      }
      const losses = head.lossFromTargets(outs, targets);
      for (let l = 0; l < losses.lossCls.length; l++) {
        report.close(tag(`loss_cls${l}`), await losses.lossCls[l].data(), fx.get(tag(`loss_cls${l}`)).data);
        report.close(tag(`loss_bbox${l}`), await losses.lossBbox[l].data(), fx.get(tag(`loss_bbox${l}`)).data);
      }
      tf.dispose(losses as unknown as tf.TensorContainer);
      if (fx.has(tag('grad_cls_score0'))) {
        const L = outs.clsScores.length;
        const grads = tf.grads((...xs: tf.Tensor[]) => {
          const l = head.lossFromTargets({ clsScores: xs.slice(0, L) as tf.Tensor4D[], bboxPreds: xs.slice(L) as tf.Tensor4D[] }, targets);
          return tf.addN([...l.lossCls, ...l.lossBbox]);
        })([...outs.clsScores, ...outs.bboxPreds]);
        for (let l = 0; l < L; l++) {
          for (const [key, g] of [[`grad_cls_score${l}`, grads[l]], [`grad_bbox_pred${l}`, grads[L + l]]] as const) {
            const e = fx.get(tag(key));
            report.close(tag(key), await g.data(), nchwToNhwc(e.data, e.shape), 1e-6, 1e-4);
          }
        }
        tf.dispose(grads);
      }
      tf.dispose([gtBboxes, gtLabels]);
      tf.dispose(targets as unknown as tf.TensorContainer);
    }
    tf.dispose(outs as unknown as tf.TensorContainer);
    const leaked = tf.memory().numTensors - start;
    if (leaked !== 0) report.fail(tag('tensor_count'), `${leaked} tensors leaked by the forward/post-processing/loss path`);
    model.dispose();
  }
  return report;
}
