import * as tf from '@tensorflow/tfjs';
import { batchedNms, ConfigError, Conv2d, Module, nextSeed, setParam, sortDescending, type BatchedNmsConfig, type ConfigOrigin } from '@litv2/core';
import { AnchorGenerator, anchorInsideFlags, concatLevels, type AnchorGeneratorConfig } from '../task_modules/anchors/anchor_generator';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderConfig } from '../task_modules/coders/delta_xywh_coder';
import { MaxIoUAssigner, type MaxIoUAssignerConfig } from '../task_modules/assigners/max_iou_assigner';
import { RandomSampler, type RandomSamplerConfig } from '../task_modules/samplers/random_sampler';
import { L1Loss, SmoothL1Loss, type RegressionLossConfig } from '../losses/regression_losses';
import type { DetImgMeta } from '../structures/img_meta';

export interface RpnTrainCfg {
  assigner: MaxIoUAssignerConfig;
  sampler: RandomSamplerConfig;
  allowed_border?: number;
  pos_weight?: number;
  debug?: boolean;
}

export interface RpnProposalCfg {
  nms_pre?: number;
  max_per_img?: number;
  nms?: BatchedNmsConfig;
  min_bbox_size?: number;
}

export interface RPNHeadConfig {
  type?: 'RPNHead';
  in_channels: number;
  feat_channels?: number;
  anchor_generator: AnchorGeneratorConfig;
  bbox_coder?: DeltaXYWHCoderConfig;
  loss_cls?: { type?: 'CrossEntropyLoss'; use_sigmoid?: boolean; loss_weight?: number };
  loss_bbox?: RegressionLossConfig;
  train_cfg?: RpnTrainCfg | null;
  /** Proposal settings: train_cfg.rpn_proposal while training, test_cfg.rpn at test time. */
  proposal_cfg?: RpnProposalCfg | null;
  test_cfg?: RpnProposalCfg | null;
}

/** Per-level NHWC outputs: objectness logits (B, H, W, A), deltas (B, H, W, A·4). */
export interface RpnOutputs {
  clsScores: tf.Tensor4D[];
  bboxPreds: tf.Tensor4D[];
}

/** Targets over all anchors of one image (grid-anchor order, levels concatenated). */
export interface RpnTargets {
  labels: Int32Array; // 0 foreground, 1 background
  labelWeights: Float32Array;
  bboxTargets: Float32Array; // (N·4)
  bboxWeights: Float32Array; // (N·4)
  numPos: number;
  numNeg: number;
}

/**
 * mmdet 2.11 `RPNHead`: `rpn_conv` 3×3 + ReLU, `rpn_cls` 1×1 (one sigmoid logit per anchor), `rpn_reg` 1×1; anchor
 * targets from the MaxIoU assigner and a random sample of 256 (no gts added), sigmoid CE + L1 averaged over the
 * sampled anchors; proposals per level top-nms_pre, decoded, one NMS over all levels with the level as class
 * (mmcv batched_nms), cut to max_per_img.
 */
export class RPNHead extends Module {
  readonly rpnConv: Conv2d;
  readonly rpnCls: Conv2d;
  readonly rpnReg: Conv2d;
  readonly anchorGenerator: AnchorGenerator;
  readonly numAnchors: number;
  readonly bboxCoder: DeltaXYWHBBoxCoder;
  readonly lossBbox: L1Loss | SmoothL1Loss;
  readonly lossClsWeight: number;
  readonly assigner: MaxIoUAssigner | null;
  readonly sampler: RandomSampler | null;
  readonly trainCfg: RpnTrainCfg | null;
  readonly proposalCfg: Required<RpnProposalCfg>;
  readonly testCfg: Required<RpnProposalCfg>;

  constructor(cfg: RPNHeadConfig, origin: ConfigOrigin = { path: 'model.rpn_head' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'RPNHead') !== 'RPNHead') throw new ConfigError(`type '${cfg.type}' is not supported (RPNHead)`, at('type'));
    if (!Number.isInteger(cfg.in_channels) || cfg.in_channels <= 0) throw new ConfigError(`in_channels must be a positive integer`, at('in_channels'));
    const lc = cfg.loss_cls ?? { type: 'CrossEntropyLoss', use_sigmoid: true };
    if ((lc.type ?? 'CrossEntropyLoss') !== 'CrossEntropyLoss' || lc.use_sigmoid === false) throw new ConfigError(`loss_cls must be a sigmoid CrossEntropyLoss`, at('loss_cls'));
    const lbType = cfg.loss_bbox?.type ?? 'L1Loss';
    if (lbType !== 'L1Loss' && lbType !== 'SmoothL1Loss') throw new ConfigError(`loss_bbox type '${lbType}' is not supported (L1Loss, SmoothL1Loss)`, at('loss_bbox.type'));
    this.anchorGenerator = new AnchorGenerator(cfg.anchor_generator, at('anchor_generator'));
    const nba = this.anchorGenerator.numBaseAnchors;
    if (nba.some((v) => v !== nba[0])) throw new ConfigError(`every level needs the same number of anchors`, at('anchor_generator'));
    this.numAnchors = nba[0];
    this.bboxCoder = new DeltaXYWHBBoxCoder(cfg.bbox_coder ?? {}, at('bbox_coder'));
    this.lossBbox = lbType === 'L1Loss' ? new L1Loss(cfg.loss_bbox ?? {}, at('loss_bbox')) : new SmoothL1Loss(cfg.loss_bbox ?? {}, at('loss_bbox'));
    this.lossClsWeight = lc.loss_weight ?? 1;
    this.trainCfg = cfg.train_cfg ?? null;
    const tOrigin: ConfigOrigin = { ...origin, path: 'model.train_cfg.rpn' };
    this.assigner = this.trainCfg ? new MaxIoUAssigner(this.trainCfg.assigner, { ...tOrigin, path: `${tOrigin.path}.assigner` }) : null;
    this.sampler = this.trainCfg ? new RandomSampler(this.trainCfg.sampler, { ...tOrigin, path: `${tOrigin.path}.sampler` }) : null;
    const full = (c: RpnProposalCfg | null | undefined, nmsPre: number): Required<RpnProposalCfg> => ({
      nms_pre: c?.nms_pre ?? nmsPre, max_per_img: c?.max_per_img ?? 1000, nms: c?.nms ?? { type: 'nms', iou_threshold: 0.7 }, min_bbox_size: c?.min_bbox_size ?? 0,
    });
    this.proposalCfg = full(cfg.proposal_cfg, 2000);
    this.testCfg = full(cfg.test_cfg, 1000);
    const feat = cfg.feat_channels ?? 256;
    this.rpnConv = this.addModule('rpn_conv', new Conv2d(cfg.in_channels, feat, 3, { padding: 1 }));
    this.rpnCls = this.addModule('rpn_cls', new Conv2d(feat, this.numAnchors, 1));
    this.rpnReg = this.addModule('rpn_reg', new Conv2d(feat, this.numAnchors * 4, 1));
    // mmdet RPNHead.init_weights: N(0, 0.01) weights, zero biases.
    for (const c of [this.rpnConv, this.rpnCls, this.rpnReg]) {
      setParam(c.weight, tf.randomNormal(c.weight.shape, 0, 0.01, 'float32', nextSeed()));
      if (c.bias) setParam(c.bias, tf.zerosLike(c.bias));
    }
  }

  forward(feats: readonly tf.Tensor4D[]): RpnOutputs {
    if (feats.length !== this.anchorGenerator.numLevels) throw new Error(`RPNHead: ${feats.length} feature maps for ${this.anchorGenerator.numLevels} anchor levels`);
    const clsScores: tf.Tensor4D[] = [];
    const bboxPreds: tf.Tensor4D[] = [];
    for (const f of feats) {
      const [c, b] = tf.tidy(() => {
        const x = tf.relu(this.rpnConv.forward(f)) as tf.Tensor4D;
        return [this.rpnCls.forward(x) as tf.Tensor4D, this.rpnReg.forward(x) as tf.Tensor4D];
      });
      clsScores.push(c);
      bboxPreds.push(b);
    }
    return { clsScores, bboxPreds };
  }

  /** mmdet `AnchorHead._get_targets_single` with the random sampler, for one image (gts in img_shape coords). */
  getTargets(featmapSizes: [number, number][], gtBboxes: Float32Array, meta: DetImgMeta, gtBboxesIgnore?: Float32Array | null): RpnTargets {
    if (!this.assigner || !this.sampler || !this.trainCfg) throw new Error('RPNHead: train_cfg.rpn is required to compute targets');
    const flat = concatLevels(this.anchorGenerator.gridAnchors(featmapSizes));
    const n = flat.length / 4;
    const valid = concatLevels(this.anchorGenerator.validFlags(featmapSizes, [meta.pad_shape[0], meta.pad_shape[1]]));
    const inside = anchorInsideFlags(flat, valid, [meta.img_shape[0], meta.img_shape[1]], this.trainCfg.allowed_border ?? -1);
    const insideIdx: number[] = [];
    inside.forEach((v, i) => { if (v) insideIdx.push(i); });
    const anchors = new Float32Array(insideIdx.length * 4);
    insideIdx.forEach((k, j) => anchors.set(flat.subarray(k * 4, k * 4 + 4), j * 4));
    const G = gtBboxes.length / 4;
    const gtInds = tf.tidy(() => Int32Array.from(this.assigner!.assign(
      tf.tensor2d(anchors, [insideIdx.length, 4]), tf.tensor2d(gtBboxes, [G, 4]),
      gtBboxesIgnore && gtBboxesIgnore.length ? tf.tensor2d(gtBboxesIgnore, [gtBboxesIgnore.length / 4, 4]) : null,
    ).gtInds.dataSync() as Int32Array));
    const s = this.sampler.sample(gtInds, G);
    const labels = new Int32Array(n).fill(1);
    const labelWeights = new Float32Array(n);
    const bboxTargets = new Float32Array(n * 4);
    const bboxWeights = new Float32Array(n * 4);
    const posWeight = this.trainCfg.pos_weight ?? -1;
    if (s.posInds.length) {
      const P = s.posInds.length;
      const pa = new Float32Array(P * 4);
      const pg = new Float32Array(P * 4);
      s.posInds.forEach((k, j) => {
        pa.set(anchors.subarray(k * 4, k * 4 + 4), j * 4);
        const g = s.posAssignedGtInds[j];
        pg.set(gtBboxes.subarray(g * 4, g * 4 + 4), j * 4);
      });
      const enc = tf.tidy(() => this.bboxCoder.encode(tf.tensor2d(pa, [P, 4]), tf.tensor2d(pg, [P, 4])).dataSync() as Float32Array);
      s.posInds.forEach((k, j) => {
        const a = insideIdx[k];
        labels[a] = 0;
        labelWeights[a] = posWeight > 0 ? posWeight : 1;
        bboxTargets.set(enc.subarray(j * 4, j * 4 + 4), a * 4);
        bboxWeights.fill(1, a * 4, a * 4 + 4);
      });
    }
    for (const k of s.negInds) labelWeights[insideIdx[k]] = 1;
    return { labels, labelWeights, bboxTargets, bboxWeights, numPos: s.posInds.length, numNeg: s.negInds.length };
  }

  /**
   * Per-level sigmoid CE and L1 losses (mmdet `AnchorHead.loss`), both divided by the number of sampled anchors
   * (Σ over images of max(#pos, 1) + max(#neg, 1)).
   */
  lossFromTargets(outs: RpnOutputs, targets: readonly RpnTargets[]): { lossCls: tf.Scalar[]; lossBbox: tf.Scalar[] } {
    const b = targets.length;
    const avg = targets.reduce((a, t) => a + Math.max(t.numPos, 1) + Math.max(t.numNeg, 1), 0);
    const lossCls: tf.Scalar[] = [];
    const lossBbox: tf.Scalar[] = [];
    let off = 0;
    outs.clsScores.forEach((cls, l) => {
      const [, H, W, A] = cls.shape;
      const size = H * W * A;
      const take = <T extends Float32Array | Int32Array>(pick: (t: RpnTargets) => T, per: number, ctor: new (n: number) => T): T => {
        const out = new ctor(b * size * per);
        targets.forEach((t, i) => out.set(pick(t).subarray(off * per, (off + size) * per) as never, i * size * per));
        return out;
      };
      const fg = take((t) => Float32Array.from(t.labels, (v) => (v === 0 ? 1 : 0)), 1, Float32Array);
      const lw = take((t) => t.labelWeights, 1, Float32Array);
      const bt = take((t) => t.bboxTargets, 4, Float32Array);
      const bw = take((t) => t.bboxWeights, 4, Float32Array);
      const [lc, lb] = tf.tidy(() => {
        const x = tf.reshape(cls, [b * size]);
        const y = tf.tensor1d(fg);
        const bce = tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
        const lcls = tf.mul(tf.div(tf.sum(tf.mul(bce, tf.tensor1d(lw))), avg), this.lossClsWeight) as tf.Scalar;
        const reg = tf.reshape(outs.bboxPreds[l], [b * size, 4]);
        const lbox = this.lossBbox.forward(reg, tf.tensor2d(bt, [b * size, 4]), tf.tensor2d(bw, [b * size, 4]), avg) as tf.Scalar;
        return [lcls, lbox];
      });
      lossCls.push(lc);
      lossBbox.push(lb);
      off += size;
    });
    return { lossCls, lossBbox };
  }

  /** Targets for every image, then the per-level losses. */
  loss(outs: RpnOutputs, gtBboxes: readonly Float32Array[], metas: readonly DetImgMeta[], gtBboxesIgnore?: readonly (Float32Array | null)[] | null): { lossCls: tf.Scalar[]; lossBbox: tf.Scalar[] } {
    const sizes = outs.clsScores.map((c) => [c.shape[1], c.shape[2]] as [number, number]);
    const targets = metas.map((m, i) => this.getTargets(sizes, gtBboxes[i], m, gtBboxesIgnore?.[i] ?? null));
    return this.lossFromTargets(outs, targets);
  }

  /**
   * mmdet 2.11 `RPNHead._get_bboxes` per image: per level sigmoid scores, top-nms_pre (descending sort), decode
   * clamped to img_shape, optional min size filter, NMS over all levels with level ids, first max_per_img.
   * Returns (K·5) x1,y1,x2,y2,score per image, in img_shape coordinates.
   */
  getProposals(outs: RpnOutputs, metas: readonly DetImgMeta[], training: boolean): Float32Array[] {
    const cfg = training ? this.proposalCfg : this.testCfg;
    const sizes = outs.clsScores.map((c) => [c.shape[1], c.shape[2]] as [number, number]);
    const levels = this.anchorGenerator.gridAnchors(sizes);
    // One read per level: ranking and NMS are sequential CPU work on a few thousand boxes (as in mmcv's CPU nms).
    const clsData = outs.clsScores.map((c) => c.dataSync() as Float32Array);
    const regData = outs.bboxPreds.map((c) => c.dataSync() as Float32Array);
    const result: Float32Array[] = [];
    metas.forEach((meta, i) => {
      const anchorsSel: number[] = [];
      const deltasSel: number[] = [];
      const scoresSel: number[] = [];
      const ids: number[] = [];
      levels.forEach((flat, l) => {
        const n = flat.length / 4;
        const logits = clsData[l].subarray(i * n, (i + 1) * n);
        const scores = Float32Array.from(logits, (v) => Math.fround(1 / (1 + Math.exp(-v))));
        let order: ArrayLike<number>;
        if (cfg.nms_pre > 0 && n > cfg.nms_pre) order = sortDescending(scores).subarray(0, cfg.nms_pre);
        else order = Int32Array.from({ length: n }, (_, k) => k);
        const deltas = regData[l].subarray(i * n * 4, (i + 1) * n * 4);
        for (let j = 0; j < order.length; j++) {
          const k = order[j];
          for (let c = 0; c < 4; c++) { anchorsSel.push(flat[k * 4 + c]); deltasSel.push(deltas[k * 4 + c]); }
          scoresSel.push(scores[k]);
          ids.push(l);
        }
      });
      const m = scoresSel.length;
      let boxes = tf.tidy(() => this.bboxCoder.decode(tf.tensor2d(anchorsSel, [m, 4]), tf.tensor2d(deltasSel, [m, 4]), [meta.img_shape[0], meta.img_shape[1]]).dataSync() as Float32Array);
      let scores = Float32Array.from(scoresSel);
      let lvl = Int32Array.from(ids);
      if (cfg.min_bbox_size > 0) {
        const keep: number[] = [];
        for (let k = 0; k < m; k++) if (boxes[k * 4 + 2] - boxes[k * 4] >= cfg.min_bbox_size && boxes[k * 4 + 3] - boxes[k * 4 + 1] >= cfg.min_bbox_size) keep.push(k);
        boxes = Float32Array.from(keep.flatMap((k) => Array.from(boxes.subarray(k * 4, k * 4 + 4))));
        scores = Float32Array.from(keep, (k) => scores[k]);
        lvl = Int32Array.from(keep, (k) => lvl[k]);
      }
      let keep = batchedNms(boxes, scores, lvl, cfg.nms);
      if (cfg.max_per_img > 0) keep = keep.subarray(0, cfg.max_per_img);
      const out = new Float32Array(keep.length * 5);
      keep.forEach((k, j) => {
        out.set(boxes.subarray(k * 4, k * 4 + 4), j * 5);
        out[j * 5 + 4] = scores[k];
      });
      result.push(out);
    });
    return result;
  }
}
