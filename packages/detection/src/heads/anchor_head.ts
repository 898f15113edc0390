import * as tf from '@tensorflow/tfjs';
import {
  BBOX_ASSIGNERS,
  BBOX_CODERS,
  BBOX_SAMPLERS,
  buildChild,
  ConfigError,
  LOSSES,
  lean,
  Module,
  PRIOR_GENERATORS,
  validateKeys,
  type BatchedNmsConfig,
  type ConfigNode,
  type ConfigOrigin,
  type KeySchema,
} from '@litv2/core';
import { AnchorGenerator, anchorInsideFlags, concatLevels } from '../task_modules/anchors/anchor_generator';
import { DeltaXYWHBBoxCoder } from '../task_modules/coders/delta_xywh_coder';
import { MaxIoUAssigner } from '../task_modules/assigners/max_iou_assigner';
import { PseudoSampler } from '../task_modules/samplers/pseudo_sampler';
import { FocalLoss } from '../losses/focal_loss';
import { L1Loss, SmoothL1Loss } from '../losses/regression_losses';
import { multiclassNms, type Detections } from '../post_processing/multiclass_nms';
import type { DetImgMeta } from '../structures/img_meta';

/** Head outputs per level, NHWC: cls (B, H, W, A·C) with channel a·C + c, bbox (B, H, W, A·4) with a·4 + k. */
export interface AnchorHeadOutputs {
  clsScores: tf.Tensor4D[];
  bboxPreds: tf.Tensor4D[];
}

/** Training targets over all anchors of all levels (grid-anchor order), one row per image. */
export interface AnchorTargets {
  labels: tf.Tensor2D; // (B, N) int32, num_classes = background
  labelWeights: tf.Tensor2D; // (B, N)
  bboxTargets: tf.Tensor3D; // (B, N, 4)
  bboxWeights: tf.Tensor3D; // (B, N, 4)
  numTotalPos: tf.Scalar; // sum over images of max(#pos, 1)
  numTotalNeg: tf.Scalar;
  levelSizes: number[]; // anchors per level
}

/** Per-level classification and box losses (mmdet sums them in parse_losses). */
export interface AnchorHeadLosses {
  lossCls: tf.Scalar[];
  lossBbox: tf.Scalar[];
}

/** `train_cfg` of an anchor head, with its assigner and sampler built. */
export interface AnchorTrainCfg {
  assigner: MaxIoUAssigner;
  sampler: PseudoSampler;
  /** Anchors further than this outside the image are ignored (-1: keep all). */
  allowedBorder: number;
  /** Weight of positive samples (<= 0: 1). */
  posWeight: number;
}

/** `test_cfg` of an anchor head (mmdet names and defaults). */
export interface AnchorTestCfg {
  nms_pre: number;
  min_bbox_size: number;
  score_thr: number;
  nms: BatchedNmsConfig;
  max_per_img: number;
}

/** The built parts an AnchorHead subclass passes up (`anchorHeadPartsFromConfig` builds them from a config). */
export interface AnchorHeadParts {
  numClasses: number;
  anchorGenerator: AnchorGenerator;
  bboxCoder: DeltaXYWHBBoxCoder;
  lossCls: FocalLoss;
  lossBbox: L1Loss | SmoothL1Loss;
  trainCfg: AnchorTrainCfg | null;
  testCfg: AnchorTestCfg;
}

/** The keys every anchor head accepts, with mmdet 2.11 AnchorHead defaults (subclasses add their own). */
export const ANCHOR_HEAD_DEFAULTS: ConfigNode = {
  num_classes: undefined,
  in_channels: undefined,
  feat_channels: 256,
  anchor_generator: undefined,
  bbox_coder: { type: 'DeltaXYWHBBoxCoder', target_means: [0, 0, 0, 0], target_stds: [1, 1, 1, 1] },
  reg_decoded_bbox: false,
  loss_cls: { type: 'CrossEntropyLoss', use_sigmoid: true, loss_weight: 1 },
  loss_bbox: { type: 'SmoothL1Loss', beta: 1 / 9, loss_weight: 1 },
  train_cfg: null,
  test_cfg: null,
  init_cfg: undefined,
};

/** mmcv `nms` config keys (test_cfg of every detection head). */
export const NMS_CFG_SCHEMA: KeySchema = { type: 'string', iou_threshold: 'fraction' };
/** `train_cfg` of an anchor head (also the `rpn` stage of a two-stage detector). */
export const ANCHOR_TRAIN_CFG_SCHEMA: KeySchema = { assigner: 'mapping', sampler: 'mapping', allowed_border: 'number', pos_weight: 'number', debug: 'boolean' };
const TEST_CFG_SCHEMA: KeySchema = { nms_pre: 'integer', min_bbox_size: 'nonneg', score_thr: 'fraction', nms: NMS_CFG_SCHEMA, max_per_img: 'count' };

/** Parses and builds the shared parts of an anchor head config (children through their registries). */
export function anchorHeadPartsFromConfig(cfg: ConfigNode, origin: ConfigOrigin): AnchorHeadParts {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  const positiveInt = (k: string) => {
    if (!Number.isInteger(cfg[k]) || (cfg[k] as number) <= 0) throw new ConfigError(`${k} must be a positive integer, got ${JSON.stringify(cfg[k])}`, at(k));
    return cfg[k] as number;
  };
  const numClasses = positiveInt('num_classes');
  positiveInt('in_channels');
  positiveInt('feat_channels');
  if (cfg.reg_decoded_bbox) throw new ConfigError(`reg_decoded_bbox: true (IoU-type box losses) is not supported`, at('reg_decoded_bbox'));
  // Cheap checks first; the order of errors follows the config file.
  const anchorGenerator = buildChild(PRIOR_GENERATORS, cfg.anchor_generator, at('anchor_generator'), [AnchorGenerator]);
  const nba = anchorGenerator.numBaseAnchors;
  if (nba.some((v) => v !== nba[0])) throw new ConfigError(`every level needs the same number of anchors`, at('anchor_generator'));
  const bboxCoder = buildChild(BBOX_CODERS, cfg.bbox_coder, at('bbox_coder'), [DeltaXYWHBBoxCoder]);
  // Only the sigmoid classification path (one score per class, no background column) is implemented.
  const lossCls = buildChild(LOSSES, cfg.loss_cls, at('loss_cls'), [FocalLoss]);
  const lossBbox = buildChild(LOSSES, cfg.loss_bbox, at('loss_bbox'), [L1Loss, SmoothL1Loss]);
  // mmdet passes the detector's train_cfg / test_cfg down to the head; name them as the user wrote them.
  const modelPath = origin.path.replace(/\.[^.]+$/, '');
  return {
    numClasses,
    anchorGenerator,
    bboxCoder,
    lossCls,
    lossBbox,
    trainCfg: anchorTrainCfgFromConfig(cfg.train_cfg, { ...origin, path: `${modelPath}.train_cfg` }),
    testCfg: anchorTestCfgFromConfig(cfg.test_cfg, { ...origin, path: `${modelPath}.test_cfg` }),
  };
}

export function anchorTrainCfgFromConfig(node: unknown, origin: ConfigOrigin): AnchorTrainCfg | null {
  if (node === null || node === undefined) return null;
  validateKeys(node, ANCHOR_TRAIN_CFG_SCHEMA, origin, { required: ['assigner'] });
  const n = node as ConfigNode;
  return {
    assigner: buildChild(BBOX_ASSIGNERS, n.assigner, { ...origin, path: `${origin.path}.assigner` }, [MaxIoUAssigner]),
    sampler: buildChild(BBOX_SAMPLERS, n.sampler ?? { type: 'PseudoSampler' }, { ...origin, path: `${origin.path}.sampler` }, [PseudoSampler]),
    allowedBorder: (n.allowed_border as number | undefined) ?? -1,
    posWeight: (n.pos_weight as number | undefined) ?? -1,
  };
}

export function anchorTestCfgFromConfig(node: unknown, origin: ConfigOrigin): AnchorTestCfg {
  const t = (node ?? {}) as ConfigNode;
  validateKeys(t, TEST_CFG_SCHEMA, origin);
  const nms = (t.nms as BatchedNmsConfig | undefined) ?? { type: 'nms', iou_threshold: 0.5 };
  if (nms.type !== 'nms') throw new ConfigError(`only nms type 'nms' is supported, got '${nms.type}'`, { ...origin, path: `${origin.path}.nms.type` });
  return {
    nms_pre: (t.nms_pre as number | undefined) ?? -1,
    min_bbox_size: (t.min_bbox_size as number | undefined) ?? 0,
    score_thr: (t.score_thr as number | undefined) ?? 0.05,
    nms,
    max_per_img: (t.max_per_img as number | undefined) ?? 100,
  };
}

/**
 * mmdet 2.11 `AnchorHead`: everything a dense anchor-based head does besides its layers — anchors, target
 * assignment over all anchors of a batch, per-level losses normalised by the number of positives, and test-time
 * candidates (top-k per level, decode, rescale) followed by class-wise NMS. A subclass (RetinaHead, RPNHead)
 * adds only its convolutions and `forwardSingle` (mmdet's retina_head.py shape).
 */
export abstract class AnchorHead extends Module {
  readonly numClasses: number;
  readonly numAnchors: number;
  readonly anchorGenerator: AnchorGenerator;
  readonly bboxCoder: DeltaXYWHBBoxCoder;
  readonly lossCls: FocalLoss;
  readonly lossBbox: L1Loss | SmoothL1Loss;
  readonly trainCfg: AnchorTrainCfg | null;
  readonly testCfg: AnchorTestCfg;

  constructor(parts: AnchorHeadParts) {
    super();
    this.numClasses = parts.numClasses;
    this.anchorGenerator = parts.anchorGenerator;
    this.numAnchors = parts.anchorGenerator.numBaseAnchors[0];
    this.bboxCoder = parts.bboxCoder;
    this.lossCls = parts.lossCls;
    this.lossBbox = parts.lossBbox;
    this.trainCfg = parts.trainCfg;
    this.testCfg = parts.testCfg;
  }

  /** One level's (cls, bbox) maps, NHWC. */
  abstract forwardSingle(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D];

  forward(feats: tf.Tensor4D[]): AnchorHeadOutputs {
    if (feats.length !== this.anchorGenerator.numLevels) throw new Error(`${this.constructor.name}: ${feats.length} feature maps for ${this.anchorGenerator.numLevels} anchor levels`);
    const clsScores: tf.Tensor4D[] = [];
    const bboxPreds: tf.Tensor4D[] = [];
    for (const f of feats) {
      const [c, b] = this.forwardSingle(f);
      clsScores.push(c);
      bboxPreds.push(b);
    }
    return { clsScores, bboxPreds };
  }

  private featmapSizes(maps: tf.Tensor4D[]): [number, number][] {
    return maps.map((m) => [m.shape[1], m.shape[2]]);
  }

  /**
   * Assigned targets for every anchor of every image (mmdet `get_targets` with the PseudoSampler, unmapped to all
   * anchors), computed for the whole batch at once on padded gt tensors.
   */
  getTargets(featmapSizes: [number, number][], gtBboxes: tf.Tensor2D[], gtLabels: tf.Tensor1D[], imgMetas: DetImgMeta[], gtBboxesIgnore?: (tf.Tensor2D | null)[] | null): AnchorTargets {
    if (!this.trainCfg) throw new Error(`${this.constructor.name}: train_cfg is required to compute targets`);
    const assigner = this.trainCfg.assigner;
    const levels = this.anchorGenerator.gridAnchors(featmapSizes);
    const levelSizes = levels.map((l) => l.length / 4);
    const flat = concatLevels(levels);
    const n = flat.length / 4;
    const b = imgMetas.length;
    const allowed = this.trainCfg.allowedBorder;
    const posWeight = this.trainCfg.posWeight;
    const nc = this.numClasses;
    // Inside flags per image from its pad shape / img shape (host arrays; they depend only on sizes).
    const inside = new Uint8Array(b * n);
    imgMetas.forEach((meta, i) => {
      const valid = concatLevels(this.anchorGenerator.validFlags(featmapSizes, [meta.pad_shape[0], meta.pad_shape[1]]));
      inside.set(anchorInsideFlags(flat, valid, [meta.img_shape[0], meta.img_shape[1]], allowed), i * n);
    });
    const pad = (list: (tf.Tensor | null | undefined)[], cols: number): { t: tf.Tensor; valid: tf.Tensor2D; g: number } => {
      const g = Math.max(1, ...list.map((x) => x?.shape[0] ?? 0));
      const rows = list.map((x) => {
        const k = x?.shape[0] ?? 0;
        const body = k > 0 ? (cols ? x!.reshape([k, cols]) : x!.reshape([k])) : null;
        const fill = cols ? tf.zeros([g - k, cols], x?.dtype ?? 'float32') : tf.zeros([g - k], x?.dtype ?? 'float32');
        return body ? (g > k ? tf.concat([body, fill]) : body) : fill;
      });
      const valid = tf.tensor2d(list.flatMap((x) => Array.from({ length: g }, (_, j) => (j < (x?.shape[0] ?? 0) ? 1 : 0))), [list.length, g], 'bool');
      return { t: tf.stack(rows), valid, g };
    };
    return tf.tidy(() => {
      const anchors = tf.tensor2d(flat, [n, 4]);
      const insideT = tf.tensor2d(inside, [b, n], 'bool');
      const gts = pad(gtBboxes, 4);
      const labelsPad = pad(gtLabels.map((l) => l.toInt()), 0).t.toInt();
      const ign = gtBboxesIgnore && gtBboxesIgnore.some((x) => x && x.shape[0] > 0) ? pad(gtBboxesIgnore, 4) : null;
      const res = assigner.assignBatch(anchors, gts.t as tf.Tensor3D, gts.valid, insideT, ign ? { boxes: ign.t as tf.Tensor3D, valid: ign.valid } : null);
      const pos = res.gtInds.greater(0).logicalAnd(insideT);
      const neg = res.gtInds.equal(0).logicalAnd(insideT);
      const idx = tf.maximum(res.gtInds.sub(tf.scalar(1, 'int32')), tf.scalar(0, 'int32'));
      const labels = tf.where(pos, tf.gather(labelsPad, idx, 1, 1), tf.fill([b, n], nc, 'int32'));
      const ones = tf.onesLike(res.maxOverlaps);
      const lw = tf.where(pos, ones.mul(posWeight > 0 ? posWeight : 1), tf.where(neg, ones, tf.zerosLike(ones)));
      const matched = tf.gather(gts.t, idx, 1, 1); // (B, N, 4)
      const enc = this.bboxCoder.encode(anchors.expandDims(0), matched); // anchors broadcast over the batch
      const pos4 = pos.expandDims(2).logicalAnd(tf.ones([1, 1, 4], 'bool'));
      const out: AnchorTargets = {
        labels: labels as tf.Tensor2D,
        labelWeights: lw as tf.Tensor2D,
        bboxTargets: tf.where(pos4, enc, tf.zerosLike(enc)) as tf.Tensor3D,
        bboxWeights: pos4.toFloat() as tf.Tensor3D,
        numTotalPos: tf.maximum(pos.toFloat().sum(1), 1).sum() as tf.Scalar,
        numTotalNeg: tf.maximum(neg.toFloat().sum(1), 1).sum() as tf.Scalar,
        levelSizes,
      };
      return out as unknown as tf.TensorContainer;
    }) as unknown as AnchorTargets;
  }

  /**
   * Per-level focal and L1 losses (mmdet `AnchorHead.loss`), each divided by num_total_pos. Targets are
   * computed without gradient; gradients flow into `outs`.
   */
  loss(outs: AnchorHeadOutputs, gtBboxes: tf.Tensor2D[], gtLabels: tf.Tensor1D[], imgMetas: DetImgMeta[], gtBboxesIgnore?: (tf.Tensor2D | null)[] | null): AnchorHeadLosses {
    const sizes = this.featmapSizes(outs.clsScores);
    const targets = this.getTargets(sizes, gtBboxes, gtLabels, imgMetas, gtBboxesIgnore);
    try {
      return this.lossFromTargets(outs, targets);
    } finally {
      tf.dispose(targets as unknown as tf.TensorContainer);
    }
  }

  lossFromTargets(outs: AnchorHeadOutputs, t: AnchorTargets): AnchorHeadLosses {
    const nc = this.numClasses;
    return tf.tidy(() => {
      const b = outs.clsScores[0].shape[0];
      const lossCls: tf.Scalar[] = [];
      const lossBbox: tf.Scalar[] = [];
      let off = 0;
      // Level by level (no concatenation of the outputs: its gradient would be a slow strided split in tfjs).
      t.levelSizes.forEach((size, l) => {
        const cls = outs.clsScores[l].reshape([b * size, nc]) as tf.Tensor2D;
        const reg = outs.bboxPreds[l].reshape([b, size, 4]);
        const labels = t.labels.slice([0, off], [-1, size]).reshape([b * size]) as tf.Tensor1D;
        const lw = t.labelWeights.slice([0, off], [-1, size]).reshape([b * size]);
        lossCls.push(lean.sumAll(this.lossCls.forward(cls, labels, lw, null, 'none')).div(t.numTotalPos));
        const tgt = t.bboxTargets.slice([0, off, 0], [-1, size, -1]);
        const bw = t.bboxWeights.slice([0, off, 0], [-1, size, -1]);
        lossBbox.push(lean.sumAll(this.lossBbox.forward(reg, tgt, bw, null, 'none')).div(t.numTotalPos));
        off += size;
      });
      return { lossCls, lossBbox } as unknown as tf.TensorContainer;
    }) as unknown as AnchorHeadLosses;
  }

  /**
   * Candidates before NMS (mmdet `_get_bboxes` with_nms=False): per level sigmoid, top-`nms_pre` by the max
   * class score, decode clamped to img_shape; levels concatenated; divided by scale_factor when `rescale`.
   * Returns (B, M, 4) boxes and (B, M, C) scores (no background column).
   */
  getCandidates(outs: AnchorHeadOutputs, imgMetas: DetImgMeta[], rescale: boolean): { bboxes: tf.Tensor3D; scores: tf.Tensor3D } {
    const nc = this.numClasses;
    const sizes = this.featmapSizes(outs.clsScores);
    const levels = this.anchorGenerator.gridAnchors(sizes);
    const nmsPre = this.testCfg.nms_pre;
    return tf.tidy(() => {
      const b = outs.clsScores[0].shape[0];
      const maxShapes = imgMetas.map((m) => [m.img_shape[0], m.img_shape[1]]);
      const allBoxes: tf.Tensor[] = [];
      const allScores: tf.Tensor[] = [];
      levels.forEach((flat, l) => {
        let scores: tf.Tensor = tf.sigmoid(outs.clsScores[l].reshape([b, -1, nc]));
        let deltas: tf.Tensor = outs.bboxPreds[l].reshape([b, -1, 4]);
        let anchors: tf.Tensor = tf.tensor2d(flat, [flat.length / 4, 4]).expandDims(0).tile([b, 1, 1]);
        if (nmsPre > 0 && scores.shape[1]! > nmsPre) {
          const { indices } = tf.topk(scores.max(-1), nmsPre, true); // (B, k), ties: lower index first
          scores = tf.gather(scores, indices, 1, 1);
          deltas = tf.gather(deltas, indices, 1, 1);
          anchors = tf.gather(anchors, indices, 1, 1);
        }
        allBoxes.push(this.bboxCoder.decode(anchors, deltas, maxShapes));
        allScores.push(scores);
      });
      let bboxes = tf.concat(allBoxes, 1);
      if (rescale) {
        const sf = tf.tensor3d(imgMetas.map((m) => [m.scale_factor.slice(0, 4).map(Math.fround)]));
        bboxes = bboxes.div(sf);
      }
      return { bboxes: bboxes as tf.Tensor3D, scores: tf.concat(allScores, 1) as tf.Tensor3D };
    });
  }

  /** Final detections per image: candidates → strict score_thr → class-wise NMS → max_per_img (CPU). */
  async getBboxes(outs: AnchorHeadOutputs, imgMetas: DetImgMeta[], rescale = false): Promise<Detections[]> {
    const { bboxes, scores } = this.getCandidates(outs, imgMetas, rescale);
    try {
      const [bb, sc] = await Promise.all([bboxes.data(), scores.data()]);
      return this.nmsCandidates(bb as Float32Array, sc as Float32Array, bboxes.shape[0], bboxes.shape[1]);
    } finally {
      bboxes.dispose();
      scores.dispose();
    }
  }

  /** Per-image multiclass NMS on flat candidate arrays ((B·M·4) boxes, (B·M·C) scores). */
  nmsCandidates(bb: Float32Array, sc: Float32Array, batch: number, m: number): Detections[] {
    const nc = this.numClasses;
    const out: Detections[] = [];
    for (let i = 0; i < batch; i++) {
      // Append the zero background column mmdet adds for sigmoid heads.
      const withBg = new Float32Array(m * (nc + 1));
      for (let j = 0; j < m; j++) withBg.set(sc.subarray((i * m + j) * nc, (i * m + j + 1) * nc), j * (nc + 1));
      out.push(multiclassNms(bb.subarray(i * m * 4, (i + 1) * m * 4), withBg, nc, this.testCfg.score_thr, this.testCfg.nms, this.testCfg.max_per_img));
    }
    return out;
  }
}
