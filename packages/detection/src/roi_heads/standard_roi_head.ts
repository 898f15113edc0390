import * as tf from '@tensorflow/tfjs';
import { ConfigError, Module, type ConfigOrigin } from '@litv2/core';
import { SingleRoIExtractor, type SingleRoIExtractorConfig } from './roi_extractors/single_roi_extractor';
import { Shared2FCBBoxHead, type BBoxTargets, type RcnnTestCfg, type Shared2FCBBoxHeadConfig } from './bbox_heads/shared2fc_bbox_head';
import { FCNMaskHead, getSegMasks, maskTargets, type FCNMaskHeadConfig, type SegMasks } from './mask_heads/fcn_mask_head';
import { MaxIoUAssigner, type MaxIoUAssignerConfig } from '../task_modules/assigners/max_iou_assigner';
import { RandomSampler, type RandomSamplerConfig, type SamplingResult } from '../task_modules/samplers/random_sampler';
import type { Detections } from '../post_processing/multiclass_nms';
import type { DetImgMeta } from '../structures/img_meta';

export interface RcnnTrainCfg {
  assigner: MaxIoUAssignerConfig;
  sampler: RandomSamplerConfig;
  mask_size?: number;
  pos_weight?: number;
  debug?: boolean;
}

export interface StandardRoIHeadConfig {
  type?: 'StandardRoIHead';
  bbox_roi_extractor: SingleRoIExtractorConfig;
  bbox_head: Shared2FCBBoxHeadConfig;
  mask_roi_extractor?: SingleRoIExtractorConfig | null;
  mask_head?: FCNMaskHeadConfig | null;
  train_cfg?: RcnnTrainCfg | null;
  test_cfg?: RcnnTestCfg | null;
}

/** Ground truth of one image for the R-CNN stage (boxes in img_shape coordinates, masks at the padded size). */
export interface RoIGroundTruth {
  bboxes: Float32Array; // G·4
  labels: Int32Array; // G
  bboxesIgnore?: Float32Array | null;
  /** [G, padH, padW] 0/1 bitmaps; required when the head has a mask branch. */
  masks?: tf.Tensor3D | null;
}

export interface RoIHeadLosses {
  loss_cls: tf.Scalar;
  loss_bbox: tf.Scalar;
  loss_mask?: tf.Scalar;
  /** Percent, logged only. */
  acc: number;
}

/** What the training pass produced besides the losses (for parity checks and logging). */
export interface RoIHeadTrainRecord {
  samplings: SamplingResult[];
  targets: BBoxTargets;
  rois: Float32Array;
  clsScore: Float32Array;
  bboxPred: Float32Array;
  /** Mask branch (absent without one): positive rois, their labels, 0/1 targets (P·s·s), logits NCHW (P·C·s·s). */
  maskPosRois?: Float32Array;
  maskLabels?: Int32Array;
  maskTargets?: Float32Array;
  maskPred?: Float32Array;
}

/** Test result of one image: detections (x1,y1,x2,y2,score; rescaled when asked) and one mask per detection. */
export interface RoIHeadResult {
  dets: Detections;
  masks: SegMasks | null;
}

/** Boxes (N·4 or N·5 with a score column) -> (N·4). */
function boxesOf(p: Float32Array, cols: number): Float32Array {
  if (cols === 4) return p;
  const n = p.length / cols;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) out.set(p.subarray(i * cols, i * cols + 4), i * 4);
  return out;
}

/** mmdet `bbox2roi`: per-image (N·4) boxes -> (ΣN·5) rows (batch index, x1, y1, x2, y2). */
export function bbox2roi(perImage: readonly Float32Array[]): Float32Array {
  const total = perImage.reduce((a, b) => a + b.length / 4, 0);
  const rois = new Float32Array(total * 5);
  let r = 0;
  perImage.forEach((boxes, b) => {
    for (let i = 0; i < boxes.length / 4; i++, r++) {
      rois[r * 5] = b;
      rois.set(boxes.subarray(i * 4, i * 4 + 4), r * 5 + 1);
    }
  });
  return rois;
}

/**
 * mmdet 2.11 `StandardRoIHead` (bbox + mask branches, no shared heads): MaxIoU assignment of the proposals, a
 * random sample with the gts added as proposals, RoI features from the first four pyramid levels, the bbox
 * head's CE + L1 and the mask head's per-class BCE on RoIAligned gt bitmaps; at test time bbox post-processing
 * then masks for the surviving detections.
 */
export class StandardRoIHead extends Module {
  readonly bboxRoiExtractor: SingleRoIExtractor;
  readonly bboxHead: Shared2FCBBoxHead;
  readonly maskRoiExtractor: SingleRoIExtractor | null;
  readonly maskHead: FCNMaskHead | null;
  readonly assigner: MaxIoUAssigner | null;
  readonly sampler: RandomSampler | null;
  readonly maskSize: number;
  readonly testCfg: RcnnTestCfg;

  constructor(cfg: StandardRoIHeadConfig, origin: ConfigOrigin = { path: 'model.roi_head' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'StandardRoIHead') !== 'StandardRoIHead') throw new ConfigError(`type '${cfg.type}' is not supported (StandardRoIHead)`, at('type'));
    if (!cfg.bbox_roi_extractor || !cfg.bbox_head) throw new ConfigError(`bbox_roi_extractor and bbox_head are required`, origin);
    this.bboxRoiExtractor = new SingleRoIExtractor(cfg.bbox_roi_extractor, at('bbox_roi_extractor'));
    this.bboxHead = this.addModule('bbox_head', new Shared2FCBBoxHead(cfg.bbox_head, at('bbox_head')));
    if (!!cfg.mask_head !== !!cfg.mask_roi_extractor) throw new ConfigError(`mask_head and mask_roi_extractor go together`, at(cfg.mask_head ? 'mask_roi_extractor' : 'mask_head'));
    this.maskRoiExtractor = cfg.mask_roi_extractor ? new SingleRoIExtractor(cfg.mask_roi_extractor, at('mask_roi_extractor')) : null;
    this.maskHead = cfg.mask_head ? this.addModule('mask_head', new FCNMaskHead(cfg.mask_head, at('mask_head'))) : null;
    if (this.maskHead && this.maskHead.numClasses !== this.bboxHead.numClasses) throw new ConfigError(`mask_head.num_classes must equal bbox_head.num_classes`, at('mask_head.num_classes'));
    const train = cfg.train_cfg ?? null;
    const tOrigin: ConfigOrigin = { ...origin, path: 'model.train_cfg.rcnn' };
    this.assigner = train ? new MaxIoUAssigner(train.assigner, { ...tOrigin, path: `${tOrigin.path}.assigner` }) : null;
    this.sampler = train ? new RandomSampler(train.sampler, { ...tOrigin, path: `${tOrigin.path}.sampler` }) : null;
    this.maskSize = train?.mask_size ?? 28;
    const test = cfg.test_cfg ?? { score_thr: 0.05, nms: { type: 'nms', iou_threshold: 0.5 }, max_per_img: 100, mask_thr_binary: 0.5 };
    this.testCfg = { ...test, mask_thr_binary: test.mask_thr_binary ?? 0.5 };
  }

  get withMask(): boolean {
    return this.maskHead !== null;
  }

  /**
   * Training losses. `proposals[i]` (N·5 with scores, or N·4) per image; `feats` the neck outputs (NHWC).
   * `samplings` replaces the random sample (parity checks feed the reference's draw).
   */
  forwardTrain(
    feats: readonly tf.Tensor4D[], proposals: readonly Float32Array[], gts: readonly RoIGroundTruth[],
    opts: { proposalCols?: 4 | 5; samplings?: SamplingResult[]; record?: (r: RoIHeadTrainRecord) => void } = {},
  ): RoIHeadLosses {
    if (!this.assigner || !this.sampler) throw new Error(`StandardRoIHead: no train_cfg.rcnn, cannot compute losses`);
    const cols = opts.proposalCols ?? 5;
    const samplings: SamplingResult[] = [];
    const sampledBoxes: Float32Array[] = [];
    const posBoxes: Float32Array[] = [];
    const targetsPer: BBoxTargets[] = [];
    proposals.forEach((p, i) => {
      const gt = gts[i];
      const props = boxesOf(p, cols);
      const G = gt.labels.length;
      let sampling = opts.samplings?.[i];
      if (!sampling) {
        const gtInds = tf.tidy(() => {
          const res = this.assigner!.assign(
            tf.tensor2d(props, [props.length / 4, 4]), tf.tensor2d(gt.bboxes, [G, 4]),
            gt.bboxesIgnore && gt.bboxesIgnore.length ? tf.tensor2d(gt.bboxesIgnore, [gt.bboxesIgnore.length / 4, 4]) : null,
            tf.tensor1d(gt.labels, 'int32'),
          );
          const out = res.gtInds.dataSync() as Int32Array;
          return Int32Array.from(out);
        });
        sampling = this.sampler!.sample(gtInds, G);
      }
      samplings.push(sampling);
      // Candidates: the gts in front when they were added as proposals.
      const added = sampling.numGtsAdded;
      const cand = new Float32Array(added * 4 + props.length);
      cand.set(gt.bboxes.subarray(0, added * 4), 0);
      cand.set(props, added * 4);
      const pick = (inds: Int32Array) => {
        const out = new Float32Array(inds.length * 4);
        inds.forEach((k, j) => out.set(cand.subarray(k * 4, k * 4 + 4), j * 4));
        return out;
      };
      const pos = pick(sampling.posInds);
      const neg = pick(sampling.negInds);
      const both = new Float32Array(pos.length + neg.length);
      both.set(pos, 0);
      both.set(neg, pos.length);
      sampledBoxes.push(both);
      posBoxes.push(pos);
      targetsPer.push(this.bboxHead.getTargets(sampling, cand, gt.bboxes, gt.labels));
    });
    const targets = concatTargets(targetsPer);
    const rois = bbox2roi(sampledBoxes);
    const feats4 = feats.slice(0, this.bboxRoiExtractor.numInputs);
    const { clsScore, bboxPred } = tf.tidy(() => this.bboxHead.forward(this.bboxRoiExtractor.forward(feats4, rois)));
    const record: RoIHeadTrainRecord | null = opts.record
      ? { samplings, targets, rois, clsScore: clsScore.dataSync().slice() as Float32Array, bboxPred: bboxPred.dataSync().slice() as Float32Array }
      : null;
    const bl = this.bboxHead.loss(clsScore, bboxPred, targets);
    tf.dispose([clsScore, bboxPred]);
    const losses: RoIHeadLosses = { loss_cls: bl.lossCls, loss_bbox: bl.lossBbox, acc: bl.acc };
    if (this.maskHead && this.maskRoiExtractor) {
      const posRois = bbox2roi(posBoxes);
      const labels = Int32Array.from(samplings.flatMap((s, i) => Array.from(s.posAssignedGtInds, (g) => gts[i].labels[g])));
      losses.loss_mask = tf.tidy(() => {
        const per = samplings.map((s, i) => {
          const m = gts[i].masks;
          if (!m) throw new Error(`StandardRoIHead: image ${i} has no gt masks but the head has a mask branch`);
          return maskTargets(m, posBoxes[i], s.posAssignedGtInds, this.maskSize);
        });
        const tgt = per.length === 1 ? per[0] : (tf.concat(per, 0) as tf.Tensor3D);
        const maskFeats = this.maskRoiExtractor!.forward(feats.slice(0, this.maskRoiExtractor!.numInputs), posRois);
        const pred = this.maskHead!.forward(maskFeats);
        if (record) {
          Object.assign(record, {
            maskPosRois: posRois, maskLabels: labels, maskTargets: tgt.dataSync().slice() as Float32Array,
            maskPred: tf.transpose(pred, [0, 3, 1, 2]).dataSync().slice() as Float32Array,
          });
        }
        return this.maskHead!.loss(pred, tgt, labels);
      });
    }
    if (record) opts.record!(record);
    return losses;
  }

  /** Bbox and mask results per image (mmdet `simple_test`). `proposals[i]` (N·5 or N·4). */
  simpleTest(feats: readonly tf.Tensor4D[], proposals: readonly Float32Array[], metas: readonly DetImgMeta[], rescale: boolean, proposalCols: 4 | 5 = 5): RoIHeadResult[] {
    const boxes = proposals.map((p) => boxesOf(p, proposalCols));
    const rois = bbox2roi(boxes);
    const feats4 = feats.slice(0, this.bboxRoiExtractor.numInputs);
    const { clsScore, bboxPred } = tf.tidy(() => this.bboxHead.forward(this.bboxRoiExtractor.forward(feats4, rois)));
    const results: RoIHeadResult[] = [];
    let start = 0;
    boxes.forEach((b, i) => {
      const n = b.length / 4;
      const [cs, bp] = tf.tidy(() => [tf.slice(clsScore, [start, 0], [n, -1]), tf.slice(bboxPred, [start, 0], [n, -1])] as [tf.Tensor2D, tf.Tensor2D]);
      const m = metas[i];
      const dets = this.bboxHead.getBboxes(rois.subarray(start * 5, (start + n) * 5), cs, bp, m.img_shape, m.scale_factor, rescale, this.testCfg);
      tf.dispose([cs, bp]);
      start += n;
      results.push({ dets, masks: null });
    });
    tf.dispose([clsScore, bboxPred]);
    if (this.maskHead && this.maskRoiExtractor) {
      results.forEach((r, i) => {
        const n = r.dets.labels.length;
        const m = metas[i];
        if (n === 0) {
          r.masks = { masks: [], height: rescale ? m.ori_shape[0] : Math.round(m.ori_shape[0] * m.scale_factor[1]), width: rescale ? m.ori_shape[1] : Math.round(m.ori_shape[1] * m.scale_factor[0]) };
          return;
        }
        // Mask rois are the dets back in img_shape coordinates (×scale_factor when they were rescaled).
        const sf = m.scale_factor.map(Math.fround);
        const mb = new Float32Array(n * 4);
        for (let k = 0; k < n; k++) for (let c = 0; c < 4; c++) mb[k * 4 + c] = rescale ? Math.fround(r.dets.bboxes[k * 5 + c] * sf[c]) : r.dets.bboxes[k * 5 + c];
        const maskRois = bbox2roi([mb]);
        const pred = tf.tidy(() => this.maskHead!.forward(this.maskRoiExtractor!.forward(feats.slice(0, this.maskRoiExtractor!.numInputs), maskRois)));
        r.masks = getSegMasks(pred, r.dets.bboxes, r.dets.labels, m.ori_shape, m.scale_factor, rescale, this.testCfg.mask_thr_binary);
        pred.dispose();
      });
    }
    return results;
  }
}

function concatTargets(per: BBoxTargets[]): BBoxTargets {
  if (per.length === 1) return per[0];
  const cat = <T extends Int32Array | Float32Array>(arrs: T[], ctor: new (n: number) => T): T => {
    const out = new ctor(arrs.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const a of arrs) { out.set(a as never, o); o += a.length; }
    return out;
  };
  return {
    labels: cat(per.map((p) => p.labels), Int32Array),
    labelWeights: cat(per.map((p) => p.labelWeights), Float32Array),
    bboxTargets: cat(per.map((p) => p.bboxTargets), Float32Array),
    bboxWeights: cat(per.map((p) => p.bboxWeights), Float32Array),
  };
}
