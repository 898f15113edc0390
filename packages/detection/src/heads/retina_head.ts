import * as tf from '@tensorflow/tfjs';
import { ConfigError, Conv2d, ConvModule, lean, Module, ModuleList, nextSeed, setParam, type ConfigOrigin, type NormCfg } from '@litv2/core';
import { AnchorGenerator, anchorInsideFlags, concatLevels, type AnchorGeneratorConfig } from '../task_modules/anchors/anchor_generator';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderConfig } from '../task_modules/coders/delta_xywh_coder';
import { MaxIoUAssigner, type MaxIoUAssignerConfig } from '../task_modules/assigners/max_iou_assigner';
import { FocalLoss, type FocalLossConfig } from '../losses/focal_loss';
import { L1Loss, SmoothL1Loss, type RegressionLossConfig } from '../losses/regression_losses';
import { multiclassNms, type Detections } from '../post_processing/multiclass_nms';
import type { DetImgMeta } from '../structures/img_meta';
import type { BatchedNmsConfig } from '@litv2/core';

export interface RetinaTrainCfg {
  assigner: MaxIoUAssignerConfig;
  allowed_border?: number;
  pos_weight?: number;
  debug?: boolean;
  sampler?: { type: string };
}

export interface RetinaTestCfg {
  nms_pre?: number;
  min_bbox_size?: number;
  score_thr?: number;
  nms?: BatchedNmsConfig;
  max_per_img?: number;
}

export interface RetinaHeadConfig {
  type?: 'RetinaHead';
  num_classes: number;
  in_channels: number;
  stacked_convs?: number;
  feat_channels?: number;
  conv_cfg?: null;
  norm_cfg?: NormCfg | null;
  anchor_generator: AnchorGeneratorConfig;
  bbox_coder?: DeltaXYWHCoderConfig;
  reg_decoded_bbox?: boolean;
  loss_cls?: FocalLossConfig;
  loss_bbox?: RegressionLossConfig;
  train_cfg?: RetinaTrainCfg | null;
  test_cfg?: RetinaTestCfg | null;
  init_cfg?: unknown;
}

/** Head outputs per level, NHWC: cls (B, H, W, A·C) with channel a·C + c, bbox (B, H, W, A·4) with a·4 + k. */
export interface RetinaOutputs {
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

export interface RetinaLosses {
  lossCls: tf.Scalar[];
  lossBbox: tf.Scalar[];
}

/** mmcv `bias_init_with_prob`. */
export function biasInitWithProb(p: number): number {
  return -Math.log((1 - p) / p);
}

/**
 * mmdet 2.11 RetinaHead (AnchorHead training/test logic): `stacked_convs` 3×3 conv+ReLU towers
 * (`cls_convs.i.conv`, `reg_convs.i.conv`), `retina_cls` / `retina_reg` 3×3 convs, sigmoid focal loss + L1 over
 * all anchors normalised by the number of positives, and top-k / class-wise NMS post-processing.
 */
export class RetinaHead extends Module {
  readonly numClasses: number;
  readonly numAnchors: number;
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly retinaCls: Conv2d;
  readonly retinaReg: Conv2d;
  readonly anchorGenerator: AnchorGenerator;
  readonly bboxCoder: DeltaXYWHBBoxCoder;
  readonly lossCls: FocalLoss;
  readonly lossBbox: L1Loss | SmoothL1Loss;
  readonly assigner: MaxIoUAssigner | null;
  readonly trainCfg: RetinaTrainCfg | null;
  readonly testCfg: Required<Omit<RetinaTestCfg, 'nms'>> & { nms: BatchedNmsConfig };

  constructor(cfg: RetinaHeadConfig, origin: ConfigOrigin = { path: 'model.bbox_head' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if (!Number.isInteger(cfg.num_classes) || cfg.num_classes <= 0) throw new ConfigError(`num_classes must be a positive integer, got ${cfg.num_classes}`, at('num_classes'));
    if (!Number.isInteger(cfg.in_channels) || cfg.in_channels <= 0) throw new ConfigError(`in_channels must be a positive integer`, at('in_channels'));
    if (cfg.reg_decoded_bbox) throw new ConfigError(`reg_decoded_bbox: true is not supported by RetinaHead here`, at('reg_decoded_bbox'));
    const lossClsCfg = cfg.loss_cls ?? { type: 'FocalLoss' };
    if ((lossClsCfg.type ?? 'FocalLoss') !== 'FocalLoss') throw new ConfigError(`loss_cls type '${lossClsCfg.type}' is not supported (FocalLoss)`, at('loss_cls.type'));
    const lossBboxCfg = cfg.loss_bbox ?? { type: 'L1Loss' };
    const lbType = lossBboxCfg.type ?? 'L1Loss';
    if (lbType !== 'L1Loss' && lbType !== 'SmoothL1Loss') throw new ConfigError(`loss_bbox type '${lbType}' is not supported (L1Loss, SmoothL1Loss)`, at('loss_bbox.type'));
    if ((cfg.anchor_generator?.type ?? 'AnchorGenerator') !== 'AnchorGenerator') throw new ConfigError(`anchor_generator type must be AnchorGenerator`, at('anchor_generator.type'));
    if (cfg.bbox_coder && (cfg.bbox_coder.type ?? 'DeltaXYWHBBoxCoder') !== 'DeltaXYWHBBoxCoder') throw new ConfigError(`bbox_coder type must be DeltaXYWHBBoxCoder`, at('bbox_coder.type'));

    this.numClasses = cfg.num_classes;
    this.anchorGenerator = new AnchorGenerator(cfg.anchor_generator, at('anchor_generator'));
    const nba = this.anchorGenerator.numBaseAnchors;
    if (nba.some((v) => v !== nba[0])) throw new ConfigError(`every level needs the same number of anchors`, at('anchor_generator'));
    this.numAnchors = nba[0];
    this.bboxCoder = new DeltaXYWHBBoxCoder(cfg.bbox_coder ?? {}, at('bbox_coder'));
    this.lossCls = new FocalLoss(lossClsCfg, at('loss_cls'));
    this.lossBbox = lbType === 'L1Loss' ? new L1Loss(lossBboxCfg, at('loss_bbox')) : new SmoothL1Loss(lossBboxCfg, at('loss_bbox'));

    this.trainCfg = cfg.train_cfg ?? null;
    if (this.trainCfg) {
      if (!this.trainCfg.assigner || (this.trainCfg.assigner.type ?? 'MaxIoUAssigner') !== 'MaxIoUAssigner') {
        throw new ConfigError(`train_cfg.assigner must be a MaxIoUAssigner`, { ...origin, path: 'model.train_cfg.assigner' });
      }
      if (this.trainCfg.sampler && this.trainCfg.sampler.type !== 'PseudoSampler') {
        throw new ConfigError(`RetinaHead with FocalLoss samples nothing; sampler '${this.trainCfg.sampler.type}' is not supported`, { ...origin, path: 'model.train_cfg.sampler' });
      }
    }
    this.assigner = this.trainCfg ? new MaxIoUAssigner(this.trainCfg.assigner, { ...origin, path: 'model.train_cfg.assigner' }) : null;
    const t = cfg.test_cfg ?? {};
    this.testCfg = {
      nms_pre: t.nms_pre ?? -1,
      min_bbox_size: t.min_bbox_size ?? 0,
      score_thr: t.score_thr ?? 0.05,
      nms: t.nms ?? { type: 'nms', iou_threshold: 0.5 },
      max_per_img: t.max_per_img ?? 100,
    };

    const stacked = cfg.stacked_convs ?? 4;
    const feat = cfg.feat_channels ?? 256;
    const normCfg = cfg.norm_cfg ?? null;
    this.clsConvs = this.addModule('cls_convs', new ModuleList<ConvModule>());
    this.regConvs = this.addModule('reg_convs', new ModuleList<ConvModule>());
    for (let i = 0; i < stacked; i++) {
      const chn = i === 0 ? cfg.in_channels : feat;
      this.clsConvs.push(new ConvModule(chn, feat, 3, { padding: 1, normCfg }));
      this.regConvs.push(new ConvModule(chn, feat, 3, { padding: 1, normCfg }));
    }
    const last = stacked > 0 ? feat : cfg.in_channels;
    this.retinaCls = this.addModule('retina_cls', new Conv2d(last, this.numAnchors * this.numClasses, 3, { padding: 1 }));
    this.retinaReg = this.addModule('retina_reg', new Conv2d(last, this.numAnchors * 4, 3, { padding: 1 }));
    this.initWeights();
  }

  /** mmdet RetinaHead.init_weights: N(0, 0.01) conv weights, zero biases, retina_cls bias = prior prob 0.01. */
  initWeights(): void {
    const convs = [...this.clsConvs.items.map((m) => m.conv), ...this.regConvs.items.map((m) => m.conv), this.retinaCls, this.retinaReg];
    for (const c of convs) {
      setParam(c.weight, tf.randomNormal(c.weight.shape, 0, 0.01, 'float32', nextSeed()));
      if (c.bias) setParam(c.bias, tf.zerosLike(c.bias));
    }
    setParam(this.retinaCls.bias!, tf.fill(this.retinaCls.bias!.shape, biasInitWithProb(0.01)));
  }

  forwardSingle(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      let c = x;
      let r = x;
      for (const m of this.clsConvs) c = m.forward(c);
      for (const m of this.regConvs) r = m.forward(r);
      return [this.retinaCls.forward(c), this.retinaReg.forward(r)];
    });
  }

  forward(feats: tf.Tensor4D[]): RetinaOutputs {
    if (feats.length !== this.anchorGenerator.numLevels) throw new Error(`RetinaHead: ${feats.length} feature maps for ${this.anchorGenerator.numLevels} anchor levels`);
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
    if (!this.assigner || !this.trainCfg) throw new Error('RetinaHead: train_cfg is required to compute targets');
    const assigner = this.assigner;
    const levels = this.anchorGenerator.gridAnchors(featmapSizes);
    const levelSizes = levels.map((l) => l.length / 4);
    const flat = concatLevels(levels);
    const n = flat.length / 4;
    const b = imgMetas.length;
    const allowed = this.trainCfg.allowed_border ?? -1;
    const posWeight = this.trainCfg.pos_weight ?? -1;
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
  loss(outs: RetinaOutputs, gtBboxes: tf.Tensor2D[], gtLabels: tf.Tensor1D[], imgMetas: DetImgMeta[], gtBboxesIgnore?: (tf.Tensor2D | null)[] | null): RetinaLosses {
    const sizes = this.featmapSizes(outs.clsScores);
    const targets = this.getTargets(sizes, gtBboxes, gtLabels, imgMetas, gtBboxesIgnore);
    try {
      return this.lossFromTargets(outs, targets);
    } finally {
      tf.dispose(targets as unknown as tf.TensorContainer);
    }
  }

  lossFromTargets(outs: RetinaOutputs, t: AnchorTargets): RetinaLosses {
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
    }) as unknown as RetinaLosses;
  }

  /**
   * Candidates before NMS (mmdet `_get_bboxes` with_nms=False): per level sigmoid, top-`nms_pre` by the max
   * class score, decode clamped to img_shape; levels concatenated; divided by scale_factor when `rescale`.
   * Returns (B, M, 4) boxes and (B, M, C) scores (no background column).
   */
  getCandidates(outs: RetinaOutputs, imgMetas: DetImgMeta[], rescale: boolean): { bboxes: tf.Tensor3D; scores: tf.Tensor3D } {
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
  async getBboxes(outs: RetinaOutputs, imgMetas: DetImgMeta[], rescale = false): Promise<Detections[]> {
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
