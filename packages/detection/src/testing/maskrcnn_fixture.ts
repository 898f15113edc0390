import * as tf from '@tensorflow/tfjs';
import { decode, encode, type UncompressedRle } from '@litv2/cocoapi';
import { BACKBONES, Module, NECKS, type Backbone, type ConfigNode, type Neck, type StateDict } from '@litv2/core';
import { Fixture } from '@litv2/core/node';
import { StandardRoIHead, type RoIHeadTrainRecord, type StandardRoIHeadConfig } from '../roi_heads/standard_roi_head';
import { mapRoiLevels } from '../roi_heads/roi_extractors/single_roi_extractor';
import type { SamplingResult } from '../task_modules/samplers/random_sampler';
import type { DetImgMeta } from '../structures/img_meta';
import { nchwToNhwc } from './fixture';
import { defaultBackboneWeights } from './retinanet_fixture';
import { CheckReport, compareDetections } from './report';

export interface MaskRcnnFixtureOptions {
  fixture: string;
  backboneWeights?: string;
  atol?: number;
  rtol?: number;
}

/** Is this manifest a Mask R-CNN fixture (a roi_head with a mask_head in meta.config)? */
export function isMaskRcnnManifest(json: { meta?: Record<string, unknown> }): boolean {
  const cfg = json.meta?.config as { roi_head?: { mask_head?: unknown } } | undefined;
  return !!cfg?.roi_head?.mask_head;
}

/** Backbone + neck + roi head with mmdet key names (`backbone.*`, `neck.*`, `roi_head.*`). */
class MaskRcnnParts extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly roiHead: StandardRoIHead;
  constructor(backboneCfg: ConfigNode, neckCfg: ConfigNode, roiCfg: StandardRoIHeadConfig) {
    super();
    this.backbone = this.addModule('backbone', BACKBONES.build(backboneCfg, undefined, { path: 'model.backbone' }) as Backbone);
    this.neck = this.addModule('neck', NECKS.build(neckCfg, undefined, { path: 'model.neck' }));
    this.roiHead = this.addModule('roi_head', new StandardRoIHead(roiCfg));
  }
}

const toNhwc = (t: { data: Float32Array; shape: number[] }): tf.Tensor4D => {
  const [n, c, h, w] = t.shape;
  return tf.tensor4d(nchwToNhwc(t.data, t.shape), [n, h, w, c]);
};

/** COCO uncompressed RLE masks -> [G, H, W] row-major 0/1 tensor. */
export function rleToBitmaps(rles: readonly UncompressedRle[]): tf.Tensor3D {
  const [H, W] = rles[0].size;
  const out = new Float32Array(rles.length * H * W);
  rles.forEach((r, g) => {
    const m = decode(r);
    for (let x = 0; x < W; x++) for (let y = 0; y < H; y++) out[(g * H + y) * W + x] = m.data[x * H + y];
  });
  return tf.tensor3d(out, [rles.length, H, W]);
}

/**
 * Rebuilds the fixture's Mask R-CNN backbone, FPN and StandardRoIHead from `meta.config`, loads the stored weights,
 * and compares: neck outputs, roi levels, RoI features, cls/bbox outputs and detections from the stored test
 * proposals, masks (RLE identical, dets without masks), and the R-CNN training pass fed with the stored sample
 * (bbox targets, loss_cls, loss_bbox, acc, loss_mask). RPN parts are not compared here yet.
 */
export async function checkMaskRcnnFixture(opts: MaskRcnnFixtureOptions): Promise<CheckReport> {
  const fx = Fixture.load(opts.fixture);
  if (!isMaskRcnnManifest(fx.manifest)) throw new Error(`${opts.fixture}: not a Mask R-CNN fixture (meta.config.roi_head.mask_head missing)`);
  const meta = fx.meta as {
    config: { neck: ConfigNode; roi_head: StandardRoIHeadConfig; train_cfg: { rcnn: StandardRoIHeadConfig['train_cfg'] }; test_cfg: { rcnn: StandardRoIHeadConfig['test_cfg'] } };
    backbone_cfg: ConfigNode;
    img_metas: Record<string, DetImgMeta>;
    masks_rle: Record<string, (UncompressedRle | null)[]>;
    gt_masks_rle: UncompressedRle[];
  };
  const report = new CheckReport(opts.atol ?? 1e-4, opts.rtol ?? 1e-4);
  await tf.ready();
  const model = new MaskRcnnParts({ ...meta.backbone_cfg, variant: 'det' }, meta.config.neck, {
    ...meta.config.roi_head, train_cfg: meta.config.train_cfg.rcnn, test_cfg: meta.config.test_cfg.rcnn,
  });
  const weights: StateDict = {};
  for (const e of fx.manifest.tensors) if (e.role === 'param') { const t = fx.get(e.name); weights[e.name] = tf.tensor(t.data, t.shape); }
  const bfx = Fixture.load(opts.backboneWeights ?? defaultBackboneWeights(opts.fixture));
  for (const e of bfx.manifest.tensors) {
    if (e.role !== 'param' || !(e.used_by ?? ['det']).includes('det')) continue;
    const t = bfx.get(e.name);
    weights[`backbone.${e.name}`] = tf.tensor(t.data, t.shape);
  }
  const sd = Object.fromEntries(Object.entries(weights).filter(([k]) => !k.startsWith('rpn_head.')));
  model.loadStateDict(sd, { strict: true });
  tf.dispose(Object.values(weights));
  model.eval();
  const start = tf.memory().numTensors;

  const img = toNhwc(fx.get('input'));
  const feats = model.backbone.forward(img);
  const neckOuts = model.neck.forward(feats);
  tf.dispose([img, ...feats]);
  for (let i = 0; i < neckOuts.length; i++) {
    const name = `neck_out${i}`;
    if (fx.has(name)) report.close(name, await neckOuts[i].data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
  }
  const head = model.roiHead;

  // Test path from the stored proposals.
  const rois = fx.get('test.rois').data;
  report.exact('test.roi_levels', mapRoiLevels(rois, head.bboxRoiExtractor.numInputs, head.bboxRoiExtractor.finestScale), fx.get('test.roi_levels').data);
  const bboxFeats = head.bboxRoiExtractor.forward(neckOuts.slice(0, head.bboxRoiExtractor.numInputs), rois);
  const firstFeats = tf.tidy(() => tf.transpose(tf.slice(bboxFeats, [0, 0, 0, 0], [4, -1, -1, -1]), [0, 3, 1, 2]).dataSync());
  report.close('test.bbox_feats_first', firstFeats, fx.get('test.bbox_feats_first').data);
  const out = head.bboxHead.forward(bboxFeats);
  report.close('test.cls_score', await out.clsScore.data(), fx.get('test.cls_score').data);
  report.close('test.bbox_pred', await out.bboxPred.data(), fx.get('test.bbox_pred').data);
  tf.dispose([bboxFeats, out.clsScore, out.bboxPred]);
  const proposals = fx.get('test.proposals').data;
  for (const key of Object.keys(meta.masks_rle)) {
    const m = key.match(/^test\.(meta_[A-Za-z0-9_]+)\.rescale_(True|False)$/);
    if (!m) continue;
    const [res] = head.simpleTest(neckOuts, [proposals], [meta.img_metas[m[1]]], m[2] === 'True');
    compareDetections(report, `${key}.detections`, res.dets, fx.get(`${key}.det_bboxes`).data, fx.get(`${key}.det_labels`).data);
    const want = meta.masks_rle[key];
    const got = res.masks?.masks ?? [];
    const hasMask = fx.get(`${key}.has_mask`).data;
    report.exact(`${key}.has_mask`, got.map((g) => (g ? 1 : 0)), hasMask);
    let bad = -1;
    want.forEach((w, i) => {
      const g = got[i];
      if (bad >= 0) return;
      if (!w || !g) { if (!!w !== !!g) bad = i; return; }
      if (encode(g).counts !== encode(decode(w)).counts) bad = i;
    });
    if (got.length !== want.length) report.fail(`${key}.masks_rle`, `${got.length} masks, expected ${want.length}`);
    else if (bad >= 0) report.fail(`${key}.masks_rle`, `mask of det ${bad} differs from the reference RLE`);
    else report.pass(`${key}.masks_rle`);
  }

  // Training pass with the stored sample.
  const gtBboxes = fx.get('gt_bboxes').data;
  const gtLabels = Int32Array.from(fx.get('gt_labels').data);
  const gtMasks = rleToBitmaps(meta.gt_masks_rle);
  const G = gtLabels.length;
  const sampling: SamplingResult = {
    posInds: Int32Array.from(fx.get('train.sample_pos_inds').data), negInds: Int32Array.from(fx.get('train.sample_neg_inds').data),
    posAssignedGtInds: Int32Array.from(fx.get('train.sample_pos_assigned_gt_inds').data),
    posIsGt: Uint8Array.from(fx.get('train.sample_pos_is_gt').data), numGtsAdded: G,
  };
  // The assignment itself (before the gts are added) is compared too.
  const trainProps = fx.get('train.proposals').data;
  if (head.assigner) {
    const P = trainProps.length / 5;
    const props4 = Float32Array.from({ length: P * 4 }, (_, i) => trainProps[Math.floor(i / 4) * 5 + (i % 4)]);
    const gtInds = tf.tidy(() => head.assigner!.assign(tf.tensor2d(props4, [P, 4]), tf.tensor2d(gtBboxes, [G, 4]), null, tf.tensor1d(gtLabels, 'int32')).gtInds.dataSync());
    const wantInds = fx.get('train.assign_gt_inds').data;
    // The stored assignment covers cat(gts, proposals): the gts assigned to themselves come first.
    report.exact('train.assign_gt_inds', wantInds.length === P ? gtInds : [...Array.from({ length: G }, (_, g) => g + 1), ...gtInds], wantInds);
  }
  let recorded: RoIHeadTrainRecord | null = null;
  const losses = head.forwardTrain(neckOuts, [trainProps], [{ bboxes: gtBboxes, labels: gtLabels, masks: gtMasks }], { samplings: [sampling], record: (r) => { recorded = r; } });
  if (recorded) {
    const t = (recorded as RoIHeadTrainRecord).targets;
    report.exact('train.bbox_labels', t.labels, fx.get('train.bbox_labels').data);
    report.close('train.bbox_label_weights', t.labelWeights, fx.get('train.bbox_label_weights').data);
    report.close('train.bbox_targets', t.bboxTargets, fx.get('train.bbox_targets').data);
    report.close('train.bbox_weights', t.bboxWeights, fx.get('train.bbox_weights').data);
  }
  report.close('train.loss_cls', await losses.loss_cls.data(), fx.get('train.loss_cls').data);
  report.close('train.loss_bbox', await losses.loss_bbox.data(), fx.get('train.loss_bbox').data);
  report.close('train.acc', [losses.acc], fx.get('train.acc').data);
  if (losses.loss_mask) report.close('train.loss_mask', await losses.loss_mask.data(), fx.get('train.loss_mask').data);
  else report.fail('train.loss_mask', 'the head produced no loss_mask');
  tf.dispose([losses.loss_cls, losses.loss_bbox, ...(losses.loss_mask ? [losses.loss_mask] : []), gtMasks, ...neckOuts]);
  const leaked = tf.memory().numTensors - start;
  if (leaked !== 0) report.fail('tensor_count', `${leaked} tensors left after the checks`);
  else report.pass('tensor_count');
  model.dispose();
  return report;
}
