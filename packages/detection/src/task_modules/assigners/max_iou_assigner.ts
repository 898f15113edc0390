import * as tf from '@tensorflow/tfjs';
import { ConfigError, BBOX_ASSIGNERS, type ConfigNode, type ConfigOrigin } from '@litv2/core';
import { bboxOverlaps } from '../../structures/bbox_overlaps';

export interface MaxIoUAssignerConfig {
  type?: 'MaxIoUAssigner';
  pos_iou_thr: number;
  neg_iou_thr: number | [number, number];
  min_pos_iou?: number;
  gt_max_assign_all?: boolean;
  ignore_iof_thr?: number;
  ignore_wrt_candidates?: boolean;
  match_low_quality?: boolean;
  gpu_assign_thr?: number;
  iou_calculator?: { type: string };
}

/** Result of an assignment; tensors are owned by the caller. */
export interface AssignResult {
  numGts: number;
  /** (N,) int32: -1 ignored, 0 negative, k > 0 assigned to gt k-1. */
  gtInds: tf.Tensor1D;
  /** (N,) float32 max IoU over gts (0 without gts). */
  maxOverlaps: tf.Tensor1D;
  /** (N,) int32 gt label of positives, -1 elsewhere (absent when no labels were given). */
  labels?: tf.Tensor1D;
}

/**
 * mmdet 2.11 `MaxIoUAssigner`, fully in tfjs on the (G, N) IoU matrix: negatives 0 <= max_iou < neg_thr,
 * positives max_iou >= pos_thr (best gt, first on ties), then low-quality matching: each gt whose best IoU
 * is >= min_pos_iou takes its best candidate — every tied candidate with gt_max_assign_all — and later gts
 * overwrite earlier ones. Candidates whose IoF with an ignore box exceeds ignore_iof_thr get -1.
 */
export class MaxIoUAssigner {
  readonly posIouThr: number;
  readonly negIouThr: [number, number];
  readonly minPosIou: number;
  readonly gtMaxAssignAll: boolean;
  readonly ignoreIofThr: number;
  readonly ignoreWrtCandidates: boolean;
  readonly matchLowQuality: boolean;

  constructor(cfg: MaxIoUAssignerConfig, origin: ConfigOrigin = { path: 'assigner' }) {
    if (typeof cfg.pos_iou_thr !== 'number') throw new ConfigError(`pos_iou_thr must be a number`, { ...origin, path: `${origin.path}.pos_iou_thr` });
    const neg = cfg.neg_iou_thr;
    if (typeof neg === 'number') this.negIouThr = [0, neg];
    else if (Array.isArray(neg) && neg.length === 2) this.negIouThr = [neg[0], neg[1]];
    else throw new ConfigError(`neg_iou_thr must be a number or a [low, high] pair`, { ...origin, path: `${origin.path}.neg_iou_thr` });
    if (cfg.iou_calculator && cfg.iou_calculator.type !== 'BboxOverlaps2D') {
      throw new ConfigError(`only iou_calculator BboxOverlaps2D is supported`, { ...origin, path: `${origin.path}.iou_calculator.type` });
    }
    this.posIouThr = cfg.pos_iou_thr;
    this.minPosIou = cfg.min_pos_iou ?? 0;
    this.gtMaxAssignAll = cfg.gt_max_assign_all ?? true;
    this.ignoreIofThr = cfg.ignore_iof_thr ?? -1;
    this.ignoreWrtCandidates = cfg.ignore_wrt_candidates ?? true;
    this.matchLowQuality = cfg.match_low_quality ?? true;
  }

  /**
   * Assigns `bboxes` (N,4) to `gtBboxes` (G,4). `validMask` (N,) excludes candidates from the assignment as if
   * they were absent (mmdet assigns only anchors inside the image; the caller gives excluded ones weight 0).
   */
  assign(bboxes: tf.Tensor2D, gtBboxes: tf.Tensor2D, gtBboxesIgnore?: tf.Tensor2D | null, gtLabels?: tf.Tensor1D | null, validMask?: tf.Tensor1D | null): AssignResult {
    const numGts = gtBboxes.shape[0];
    const n = bboxes.shape[0];
    return tf.tidy(() => {
      if (numGts === 0 || n === 0) {
        const gtInds = (numGts === 0 ? tf.zeros([n], 'int32') : tf.fill([n], -1, 'int32')) as tf.Tensor1D;
        const res: AssignResult = { numGts, gtInds, maxOverlaps: tf.zeros([n]) as tf.Tensor1D };
        if (gtLabels) res.labels = tf.fill([n], -1, 'int32') as tf.Tensor1D;
        return res as unknown as tf.TensorContainer;
      }
      let overlaps = bboxOverlaps(gtBboxes, bboxes) as tf.Tensor2D; // (G, N)
      if (this.ignoreIofThr > 0 && gtBboxesIgnore && gtBboxesIgnore.shape[0] > 0) {
        const ignMax = this.ignoreWrtCandidates
          ? bboxOverlaps(bboxes, gtBboxesIgnore, 'iof').max(1)
          : bboxOverlaps(gtBboxesIgnore, bboxes, 'iof').max(0);
        overlaps = tf.where(ignMax.greater(this.ignoreIofThr).expandDims(0), tf.onesLike(overlaps).neg(), overlaps) as tf.Tensor2D;
      }
      if (validMask) overlaps = tf.where(validMask.cast('bool').expandDims(0), overlaps, tf.onesLike(overlaps).neg()) as tf.Tensor2D;
      return this.assignWrtOverlaps(overlaps, gtLabels ?? null) as unknown as tf.TensorContainer;
    }) as unknown as AssignResult;
  }

  /** The assignment proper, from a (G, N) overlap matrix with G, N > 0. */
  assignWrtOverlaps(overlaps: tf.Tensor2D, gtLabels: tf.Tensor1D | null): AssignResult {
    const [numGts, n] = overlaps.shape;
    return tf.tidy(() => {
      const maxOverlaps = overlaps.max(0) as tf.Tensor1D;
      const argmax = overlaps.argMax(0).toInt();
      let gtInds: tf.Tensor = tf.fill([n], -1, 'int32');
      const [lo, hi] = this.negIouThr;
      const neg = maxOverlaps.greaterEqual(lo).logicalAnd(maxOverlaps.less(hi));
      gtInds = tf.where(neg, tf.zerosLike(gtInds), gtInds);
      const pos = maxOverlaps.greaterEqual(this.posIouThr);
      const one = tf.scalar(1, 'int32');
      gtInds = tf.where(pos, argmax.add(one), gtInds);
      if (this.matchLowQuality) {
        const gtMax = overlaps.max(1); // (G,)
        const eligible = gtMax.greaterEqual(this.minPosIou).expandDims(1); // (G,1)
        const hits = this.gtMaxAssignAll
          ? overlaps.equal(gtMax.expandDims(1))
          : tf.oneHot(overlaps.argMax(1).toInt(), n).cast('bool');
        const mask = hits.logicalAnd(eligible); // (G, N)
        // Later gts overwrite earlier ones: keep the largest gt index (1-based) that claims the candidate.
        const gtIdx = tf.range(1, numGts + 1, 1, 'int32').expandDims(1);
        const last = tf.where(mask, gtIdx.tile([1, n]), tf.zeros([numGts, n], 'int32')).max(0);
        gtInds = tf.where(last.greater(0), last, gtInds);
      }
      const res: AssignResult = { numGts, gtInds: gtInds as tf.Tensor1D, maxOverlaps };
      if (gtLabels) {
        const idx = tf.maximum(gtInds.sub(one), tf.scalar(0, 'int32'));
        res.labels = tf.where(gtInds.greater(0), tf.gather(gtLabels.toInt(), idx), tf.fill([n], -1, 'int32')) as tf.Tensor1D;
      }
      return res as unknown as tf.TensorContainer;
    }) as unknown as AssignResult;
  }

  /**
   * The same assignment for a batch in one pass: `gtBboxes` (B, G, 4) padded with `gtValid` (B, G) false rows,
   * `bboxes` (N, 4) shared by all images, `validMask` (B, N) (inside flags), optional padded ignore boxes
   * (B, I, 4) with `ignoreValid` (B, I). Padded gts and excluded candidates get overlap -1, which never wins a
   * maximum against a real IoU (>= 0), so each image's result equals `assign` on its own rows — as long as
   * min_pos_iou >= 0, the case of every mmdet config. Returns (B, N) gt indices (1-based, 0 negative, -1 ignored)
   * and max overlaps.
   */
  assignBatch(
    bboxes: tf.Tensor2D,
    gtBboxes: tf.Tensor3D,
    gtValid: tf.Tensor2D,
    validMask: tf.Tensor2D,
    ignore?: { boxes: tf.Tensor3D; valid: tf.Tensor2D } | null,
  ): { gtInds: tf.Tensor2D; maxOverlaps: tf.Tensor2D } {
    const [b, g] = gtBboxes.shape;
    const n = bboxes.shape[0];
    return tf.tidy(() => {
      const neg1 = tf.scalar(-1);
      let overlaps = bboxOverlaps(gtBboxes.reshape([b * g, 4]) as tf.Tensor2D, bboxes).reshape([b, g, n]);
      let keep = gtValid.cast('bool').expandDims(2).logicalAnd(validMask.cast('bool').expandDims(1)); // (B, G, N)
      if (this.ignoreIofThr > 0 && ignore && ignore.boxes.shape[1] > 0) {
        const ni = ignore.boxes.shape[1];
        const iof = this.ignoreWrtCandidates
          ? bboxOverlaps(bboxes, ignore.boxes.reshape([b * ni, 4]) as tf.Tensor2D, 'iof').reshape([n, b, ni]).transpose([1, 0, 2])
          : bboxOverlaps(ignore.boxes.reshape([b * ni, 4]) as tf.Tensor2D, bboxes, 'iof').reshape([b, ni, n]).transpose([0, 2, 1]);
        const ign = tf.where(ignore.valid.cast('bool').expandDims(1), iof, tf.zerosLike(iof)).max(2).greater(this.ignoreIofThr); // (B, N)
        keep = keep.logicalAnd(ign.logicalNot().expandDims(1));
      }
      overlaps = tf.where(keep, overlaps, neg1);
      const hasGt = gtValid.cast('float32').sum(1).greater(0).expandDims(1); // (B, 1)
      const maxOv = overlaps.max(1); // (B, N)
      const argmax = overlaps.argMax(1).toInt();
      const one = tf.scalar(1, 'int32');
      let gtInds: tf.Tensor = tf.fill([b, n], -1, 'int32');
      const [lo, hi] = this.negIouThr;
      gtInds = tf.where(maxOv.greaterEqual(lo).logicalAnd(maxOv.less(hi)), tf.zerosLike(gtInds), gtInds);
      gtInds = tf.where(maxOv.greaterEqual(this.posIouThr), argmax.add(one), gtInds);
      if (this.matchLowQuality) {
        const gtMax = overlaps.max(2); // (B, G)
        const eligible = gtMax.greaterEqual(this.minPosIou).logicalAnd(gtValid.cast('bool')).expandDims(2);
        const hits = this.gtMaxAssignAll ? overlaps.equal(gtMax.expandDims(2)) : tf.oneHot(overlaps.argMax(2).toInt(), n).cast('bool');
        const gIdx = tf.range(1, g + 1, 1, 'int32').reshape([1, g, 1]);
        const last = tf.where(hits.logicalAnd(eligible), gIdx, tf.scalar(0, 'int32')).max(1);
        gtInds = tf.where(last.greater(0), last, gtInds);
      }
      // Images without gts: every candidate is negative with max overlap 0.
      gtInds = tf.where(hasGt, gtInds, tf.zerosLike(gtInds));
      return { gtInds: gtInds as tf.Tensor2D, maxOverlaps: tf.where(hasGt, maxOv, tf.zerosLike(maxOv)) as tf.Tensor2D };
    });
  }
}

BBOX_ASSIGNERS.register('MaxIoUAssigner', {
  defaults: {
    pos_iou_thr: undefined,
    neg_iou_thr: undefined,
    min_pos_iou: 0,
    gt_max_assign_all: true,
    ignore_iof_thr: -1,
    ignore_wrt_candidates: true,
    match_low_quality: true,
    gpu_assign_thr: -1,
    iou_calculator: { type: 'BboxOverlaps2D' },
  } as ConfigNode,
  build: (cfg, _ctx, origin) => {
    for (const k of ['min_pos_iou', 'ignore_iof_thr', 'gpu_assign_thr']) {
      if (typeof cfg[k] !== 'number') throw new ConfigError(`${k} must be a number, got ${JSON.stringify(cfg[k])}`, { ...origin, path: `${origin.path}.${k}` });
    }
    return new MaxIoUAssigner(cfg as unknown as MaxIoUAssignerConfig, origin);
  },
});
