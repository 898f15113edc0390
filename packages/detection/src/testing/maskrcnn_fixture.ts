import * as tf from '@tensorflow/tfjs';
import { decode, encode, type UncompressedRle } from '@litv2/cocoapi';
import { BACKBONES, Module, NECKS, type Backbone, type ConfigNode, type Neck, type StateDict } from '@litv2/core';
import { Fixture } from '@litv2/core/node';
import { RPNHead, type RPNHeadConfig, type RpnTargets } from '../heads/rpn_head';
import { bbox2roi, StandardRoIHead, type RoIHeadTrainRecord, type StandardRoIHeadConfig } from '../roi_heads/standard_roi_head';
import { mapRoiLevels } from '../roi_heads/roi_extractors/single_roi_extractor';
import { pasteMasks } from '../roi_heads/mask_heads/fcn_mask_head';
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
  readonly rpnHead: RPNHead;
  readonly roiHead: StandardRoIHead;
  constructor(backboneCfg: ConfigNode, neckCfg: ConfigNode, rpnCfg: RPNHeadConfig, roiCfg: StandardRoIHeadConfig) {
    super();
    this.backbone = this.addModule('backbone', BACKBONES.build(backboneCfg, undefined, { path: 'model.backbone' }) as Backbone);
    this.neck = this.addModule('neck', NECKS.build(neckCfg, undefined, { path: 'model.neck' }));
    this.rpnHead = this.addModule('rpn_head', new RPNHead(rpnCfg));
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
 * (bbox targets, loss_cls, loss_bbox, acc, loss_mask); RPN outputs, proposals, targets and losses (on the
 * reference's negative draw, which torch.randperm made).
 */
export async function checkMaskRcnnFixture(opts: MaskRcnnFixtureOptions): Promise<CheckReport> {
  const fx = Fixture.load(opts.fixture);
  if (!isMaskRcnnManifest(fx.manifest)) throw new Error(`${opts.fixture}: not a Mask R-CNN fixture (meta.config.roi_head.mask_head missing)`);
  const meta = fx.meta as {
    config: {
      neck: ConfigNode; rpn_head: RPNHeadConfig; roi_head: StandardRoIHeadConfig;
      train_cfg: { rpn: RPNHeadConfig['train_cfg']; rpn_proposal: RPNHeadConfig['proposal_cfg']; rcnn: StandardRoIHeadConfig['train_cfg'] };
      test_cfg: { rpn: RPNHeadConfig['test_cfg']; rcnn: StandardRoIHeadConfig['test_cfg'] };
    };
    backbone_cfg: ConfigNode;
    img_metas: Record<string, DetImgMeta>;
    masks_rle: Record<string, (UncompressedRle | null)[]>;
    gt_masks_rle: UncompressedRle[];
  };
  const report = new CheckReport(opts.atol ?? 1e-4, opts.rtol ?? 1e-4);
  await tf.ready();
  const c = meta.config;
  const model = new MaskRcnnParts({ ...meta.backbone_cfg, variant: 'det' }, c.neck, { ...c.rpn_head, train_cfg: c.train_cfg.rpn, proposal_cfg: c.train_cfg.rpn_proposal, test_cfg: c.test_cfg.rpn }, {
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
  model.loadStateDict(weights, { strict: true });
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

  // RPN: outputs, proposals (test and train settings), targets and losses.
  const rpn = model.rpnHead;
  const rpnOut = rpn.forward(neckOuts);
  for (let l = 0; l < rpnOut.clsScores.length; l++) {
    for (const [name, t] of [[`rpn_cls_score${l}`, rpnOut.clsScores[l]], [`rpn_bbox_pred${l}`, rpnOut.bboxPreds[l]]] as const) {
      if (fx.has(name)) report.close(name, await t.data(), nchwToNhwc(fx.get(name).data, fx.get(name).shape));
    }
  }
  const scale1 = meta.img_metas.meta_scale1;
  const [testProps] = await rpn.getProposals(rpnOut, [scale1], false);
  report.closeBoxes('test.proposals', testProps, fx.get('test.proposals').data, 5);
  report.closeBoxes('test.rois', bbox2roi([Float32Array.from({ length: (testProps.length / 5) * 4 }, (_, i) => testProps[Math.floor(i / 4) * 5 + (i % 4)])]), fx.get('test.rois').data, 5);
  const [trainPropsOurs] = await rpn.getProposals(rpnOut, [scale1], true);
  report.closeBoxes('train.proposals', trainPropsOurs, fx.get('train.proposals').data, 5);
  {
    const sizes = rpnOut.clsScores.map((t) => [t.shape[1], t.shape[2]] as [number, number]);
    const ours = rpn.getTargets(sizes, fx.get('gt_bboxes').data, scale1);
    const posInds = fx.get('train.rpn_pos_anchor_inds').data;
    const oursPos: number[] = [];
    ours.labels.forEach((v, i) => { if (v === 0) oursPos.push(i); });
    report.exact('train.rpn_pos_anchor_inds', oursPos, posInds);
    report.close('train.rpn_pos_bbox_targets', oursPos.flatMap((i) => Array.from(ours.bboxTargets.subarray(i * 4, i * 4 + 4))), fx.get('train.rpn_pos_bbox_targets').data);
    report.exact('train.rpn_target_labels', ours.labels, fx.get('train.rpn_target_labels').data);
    // The negatives drawn differ (torch.randperm); the losses are compared on the reference's draw.
    // So only the draw's size and its positives are compared on the weights.
    const wantW = fx.get('train.rpn_target_label_weights').data;
    const oursW = ours.labelWeights.reduce((a, v) => a + v, 0);
    const wantCount = wantW.reduce((a, v) => a + v, 0);
    const posOk = oursPos.every((i) => wantW[i] === 1 && ours.labelWeights[i] === 1);
    if (oursW === wantCount && posOk) report.pass('train.rpn_target_label_weights');
    else report.fail('train.rpn_target_label_weights', `${oursW} anchors sampled (positives weighted: ${posOk}), reference ${wantCount}`);
    const fed: RpnTargets = { ...ours, labelWeights: Float32Array.from(wantW), numPos: oursPos.length, numNeg: wantCount - oursPos.length };
    const rl = rpn.lossFromTargets(rpnOut, [fed]);
    for (let l = 0; l < rl.lossCls.length; l++) {
      report.close(`train.loss_rpn_cls${l}`, await rl.lossCls[l].data(), fx.get(`train.loss_rpn_cls${l}`).data);
      report.close(`train.loss_rpn_bbox${l}`, await rl.lossBbox[l].data(), fx.get(`train.loss_rpn_bbox${l}`).data);
    }
    tf.dispose([...rl.lossCls, ...rl.lossBbox]);
  }
  tf.dispose([...rpnOut.clsScores, ...rpnOut.bboxPreds]);

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
    const imgMeta = meta.img_metas[m[1]];
    const rescale = m[2] === 'True';
    const [res] = head.simpleTest(neckOuts, [proposals], [imgMeta], rescale);
    // Mask rois (dets back in img_shape coordinates), their logits and the first pasted soft mask.
    const nd = res.dets.labels.length;
    const sf = imgMeta.scale_factor.map(Math.fround);
    const mb = Float32Array.from({ length: nd * 4 }, (_, i) => (rescale ? Math.fround(res.dets.bboxes[Math.floor(i / 4) * 5 + (i % 4)] * sf[i % 4]) : res.dets.bboxes[Math.floor(i / 4) * 5 + (i % 4)]));
    const maskRois = bbox2roi([mb]);
    if (fx.has(`${key}.mask_rois`)) report.closeBoxes(`${key}.mask_rois`, maskRois, fx.get(`${key}.mask_rois`).data, 5);
    if (fx.has(`${key}.mask_pred`) && head.maskHead && head.maskRoiExtractor) {
      const pred = tf.tidy(() => head.maskHead!.forward(head.maskRoiExtractor!.forward(neckOuts.slice(0, head.maskRoiExtractor!.numInputs), maskRois)));
      report.close(`${key}.mask_pred`, tf.tidy(() => tf.transpose(pred, [0, 3, 1, 2]).dataSync()), fx.get(`${key}.mask_pred`).data);
      if (fx.has(`${key}.soft_masks_first`)) {
        const inds = fx.get(`${key}.soft_masks_det_inds`).data;
        report.exact(`${key}.soft_masks_det_inds`, Array.from(inds, (i) => (res.masks?.masks[i] ? i : -1)), inds);
        const [, oh, ow] = fx.get(`${key}.soft_masks_first`).shape;
        const soft = tf.tidy(() => {
          const rows = Array.from(inds, (i) => i * head.maskHead!.numClasses + res.dets.labels[i]);
          const logits = tf.gather(tf.reshape(tf.transpose(pred, [0, 3, 1, 2]), [nd * head.maskHead!.numClasses, 28, 28]), tf.tensor1d(rows, 'int32'));
          const boxes = Float32Array.from({ length: inds.length * 4 }, (_, j) => {
            const v = mb[inds[Math.floor(j / 4)] * 4 + (j % 4)];
            return rescale ? Math.fround(v / sf[j % 4]) : v;
          });
          return pasteMasks(tf.sigmoid(logits) as tf.Tensor3D, boxes, oh, ow).dataSync();
        });
        report.close(`${key}.soft_masks_first`, soft, fx.get(`${key}.soft_masks_first`).data);
      }
      pred.dispose();
    }
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
    const [gtInds, maxOv] = tf.tidy(() => {
      const r = head.assigner!.assign(tf.tensor2d(props4, [P, 4]), tf.tensor2d(gtBboxes, [G, 4]), null, tf.tensor1d(gtLabels, 'int32'));
      return [Int32Array.from(r.gtInds.dataSync()), Float32Array.from(r.maxOverlaps.dataSync())];
    });
    const wantInds = fx.get('train.assign_gt_inds').data;
    // The stored assignment covers cat(gts, proposals) (add_gt_ runs first): each gt is assigned to itself, IoU 1.
    const withGts = wantInds.length !== P;
    report.exact('train.assign_gt_inds', withGts ? [...Array.from({ length: G }, (_, g) => g + 1), ...gtInds] : gtInds, wantInds);
    report.close('train.assign_max_overlaps', withGts ? [...new Array(G).fill(1), ...maxOv] : maxOv, fx.get('train.assign_max_overlaps').data);
    // Our seeded draw: every positive is kept (fewer than num·pos_fraction), so positives match exactly; the
    // negatives are a different random subset of the same size.
    if (head.sampler) {
      const ourSample = head.sampler.sample(gtInds, G);
      report.exact('train.sample_pos_inds', ourSample.posInds, sampling.posInds);
      report.exact('train.sample_pos_assigned_gt_inds', ourSample.posAssignedGtInds, sampling.posAssignedGtInds);
      report.exact('train.sample_pos_is_gt', ourSample.posIsGt, sampling.posIsGt);
      const allNeg = [...ourSample.negInds].every((k) => k >= G && gtInds[k - G] === 0);
      if (ourSample.negInds.length === sampling.negInds.length && allNeg) report.pass('train.sample_neg_inds');
      else report.fail('train.sample_neg_inds', `${ourSample.negInds.length} negatives drawn (all negatives: ${allNeg}), reference ${sampling.negInds.length}`);
    }
  }
  let recorded: RoIHeadTrainRecord | null = null;
  const losses = head.forwardTrain(neckOuts, [trainProps], [{ bboxes: gtBboxes, labels: gtLabels, masks: gtMasks }], { samplings: [sampling], record: (r) => { recorded = r; } });
  if (recorded) {
    const t = (recorded as RoIHeadTrainRecord).targets;
    report.exact('train.bbox_labels', t.labels, fx.get('train.bbox_labels').data);
    report.close('train.bbox_label_weights', t.labelWeights, fx.get('train.bbox_label_weights').data);
    report.close('train.bbox_targets', t.bboxTargets, fx.get('train.bbox_targets').data);
    report.close('train.bbox_weights', t.bboxWeights, fx.get('train.bbox_weights').data);
    const r = recorded as RoIHeadTrainRecord;
    report.closeBoxes('train.sampled_rois', r.rois, fx.get('train.sampled_rois').data, 5);
    report.close('train.cls_score', r.clsScore, fx.get('train.cls_score').data);
    report.close('train.bbox_pred', r.bboxPred, fx.get('train.bbox_pred').data);
    if (r.maskPosRois) {
      report.closeBoxes('train.mask_pos_rois', r.maskPosRois, fx.get('train.mask_pos_rois').data, 5);
      report.exact('train.mask_labels', r.maskLabels!, fx.get('train.mask_labels').data);
      report.exact('train.mask_targets', r.maskTargets!, fx.get('train.mask_targets').data);
      report.close('train.mask_pred', r.maskPred!, fx.get('train.mask_pred').data);
    }
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
