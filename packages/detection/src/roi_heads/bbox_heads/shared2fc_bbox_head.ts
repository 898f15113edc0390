import * as tf from '@tensorflow/tfjs';
import { ConfigError, Linear, Module, ModuleList, normal, setParam, xavierUniform, type BatchedNmsConfig, type ConfigOrigin } from '@litv2/core';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderConfig } from '../../task_modules/coders/delta_xywh_coder';
import { CrossEntropyLoss, type CrossEntropyLossConfig } from '@litv2/core';
import { L1Loss, SmoothL1Loss, type RegressionLossConfig } from '../../losses/regression_losses';
import { multiclassNms, type Detections } from '../../post_processing/multiclass_nms';
import type { SamplingResult } from '../../task_modules/samplers/random_sampler';

export interface Shared2FCBBoxHeadConfig {
  type?: 'Shared2FCBBoxHead';
  in_channels: number;
  fc_out_channels?: number;
  roi_feat_size?: number;
  num_classes: number;
  bbox_coder?: DeltaXYWHCoderConfig;
  reg_class_agnostic?: boolean;
  reg_decoded_bbox?: boolean;
  loss_cls?: CrossEntropyLossConfig;
  loss_bbox?: RegressionLossConfig;
}

export interface RcnnTestCfg {
  score_thr: number;
  nms: BatchedNmsConfig;
  max_per_img: number;
  mask_thr_binary?: number;
}

/** Targets of the sampled rois, concatenated over images (positives first per image, as mmdet orders them). */
export interface BBoxTargets {
  labels: Int32Array; // num_classes = background
  labelWeights: Float32Array;
  bboxTargets: Float32Array; // (N·4), encoded
  bboxWeights: Float32Array; // (N·4)
}

export interface BBoxLosses {
  lossCls: tf.Scalar;
  lossBbox: tf.Scalar;
  /** Classification accuracy in percent (not differentiated). */
  acc: number;
}

/**
 * mmdet 2.11 `Shared2FCBBoxHead` (ConvFCBBoxHead with two shared fcs): RoI features flattened in PyTorch's
 * (C, h, w) order, `shared_fcs.{0,1}` + ReLU, then `fc_cls` (C+1 logits, background last) and `fc_reg`
 * (4·C class-specific deltas, or 4 when class-agnostic). Softmax CE over all samples, L1 on the gt class's deltas.
 */
export class Shared2FCBBoxHead extends Module {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly roiFeatSize: number;
  readonly regClassAgnostic: boolean;
  readonly sharedFcs: ModuleList<Linear>;
  readonly fcCls: Linear;
  readonly fcReg: Linear;
  readonly bboxCoder: DeltaXYWHBBoxCoder;
  readonly lossCls: CrossEntropyLoss;
  readonly lossBbox: L1Loss | SmoothL1Loss;

  constructor(cfg: Shared2FCBBoxHeadConfig, origin: ConfigOrigin = { path: 'model.roi_head.bbox_head' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'Shared2FCBBoxHead') !== 'Shared2FCBBoxHead') throw new ConfigError(`type '${cfg.type}' is not supported (Shared2FCBBoxHead)`, at('type'));
    if (!Number.isInteger(cfg.num_classes) || cfg.num_classes <= 0) throw new ConfigError(`num_classes must be a positive integer, got ${cfg.num_classes}`, at('num_classes'));
    if (!Number.isInteger(cfg.in_channels) || cfg.in_channels <= 0) throw new ConfigError(`in_channels must be a positive integer`, at('in_channels'));
    if (cfg.reg_decoded_bbox) throw new ConfigError(`reg_decoded_bbox: true is not supported`, at('reg_decoded_bbox'));
    const lbType = cfg.loss_bbox?.type ?? 'L1Loss';
    if (lbType !== 'L1Loss' && lbType !== 'SmoothL1Loss') throw new ConfigError(`loss_bbox type '${lbType}' is not supported (L1Loss, SmoothL1Loss)`, at('loss_bbox.type'));
    this.numClasses = cfg.num_classes;
    this.inChannels = cfg.in_channels;
    this.roiFeatSize = cfg.roi_feat_size ?? 7;
    this.regClassAgnostic = cfg.reg_class_agnostic ?? false;
    const fcOut = cfg.fc_out_channels ?? 1024;
    const flatIn = this.inChannels * this.roiFeatSize * this.roiFeatSize;
    this.sharedFcs = this.addModule('shared_fcs', new ModuleList([new Linear(flatIn, fcOut), new Linear(fcOut, fcOut)]));
    this.fcCls = this.addModule('fc_cls', new Linear(fcOut, this.numClasses + 1));
    this.fcReg = this.addModule('fc_reg', new Linear(fcOut, this.regClassAgnostic ? 4 : 4 * this.numClasses));
    // mmdet init: xavier-uniform shared fcs, N(0, .01) fc_cls, N(0, .001) fc_reg, zero biases.
    for (const fc of this.sharedFcs.items) setParam(fc.weight, xavierUniform(fc.weight.shape, fc.inFeatures, fc.outFeatures));
    setParam(this.fcCls.weight, normal(this.fcCls.weight.shape, 0.01));
    setParam(this.fcReg.weight, normal(this.fcReg.weight.shape, 0.001));
    for (const fc of [...this.sharedFcs.items, this.fcCls, this.fcReg]) if (fc.bias) setParam(fc.bias, tf.zeros(fc.bias.shape));
    this.bboxCoder = new DeltaXYWHBBoxCoder(cfg.bbox_coder ?? { target_stds: [0.1, 0.1, 0.2, 0.2] }, at('bbox_coder'));
    this.lossCls = new CrossEntropyLoss(cfg.loss_cls ?? {}, at('loss_cls'));
    this.lossBbox = lbType === 'L1Loss' ? new L1Loss(cfg.loss_bbox ?? {}, at('loss_bbox')) : new SmoothL1Loss(cfg.loss_bbox ?? {}, at('loss_bbox'));
  }

  /** `roiFeats` [R, s, s, C] (NHWC) -> cls logits (R, C+1) and deltas (R, 4·C). */
  forward(roiFeats: tf.Tensor4D): { clsScore: tf.Tensor2D; bboxPred: tf.Tensor2D } {
    return tf.tidy(() => {
      const R = roiFeats.shape[0];
      let x: tf.Tensor = tf.reshape(tf.transpose(roiFeats, [0, 3, 1, 2]), [R, -1]);
      for (const fc of this.sharedFcs.items) x = tf.relu(fc.forward(x));
      return { clsScore: this.fcCls.forward(x) as tf.Tensor2D, bboxPred: this.fcReg.forward(x) as tf.Tensor2D };
    });
  }

  /**
   * mmdet `BBoxHead.get_targets` for one image: positives get their gt's label and encoded deltas (weight 1),
   * negatives the background label. `candidates` (M·4) is the list the sample indexes into (gts first when added).
   */
  getTargets(sampling: SamplingResult, candidates: Float32Array, gtBboxes: Float32Array, gtLabels: Int32Array): BBoxTargets {
    const P = sampling.posInds.length;
    const N = P + sampling.negInds.length;
    const labels = new Int32Array(N).fill(this.numClasses);
    const labelWeights = new Float32Array(N).fill(1);
    const bboxTargets = new Float32Array(N * 4);
    const bboxWeights = new Float32Array(N * 4);
    if (P > 0) {
      const pos = new Float32Array(P * 4);
      const gts = new Float32Array(P * 4);
      for (let i = 0; i < P; i++) {
        pos.set(candidates.subarray(sampling.posInds[i] * 4, sampling.posInds[i] * 4 + 4), i * 4);
        const g = sampling.posAssignedGtInds[i];
        gts.set(gtBboxes.subarray(g * 4, g * 4 + 4), i * 4);
        labels[i] = gtLabels[g];
      }
      const enc = tf.tidy(() => this.bboxCoder.encode(tf.tensor2d(pos, [P, 4]), tf.tensor2d(gts, [P, 4])).dataSync() as Float32Array);
      bboxTargets.set(enc, 0);
      bboxWeights.fill(1, 0, P * 4);
    }
    return { labels, labelWeights, bboxTargets, bboxWeights };
  }

  /** mmdet `BBoxHead.loss` (+ accuracy) over all sampled rois of the batch. */
  loss(clsScore: tf.Tensor2D, bboxPred: tf.Tensor2D, t: BBoxTargets): BBoxLosses {
    const N = t.labels.length;
    let acc = 0;
    // mmdet accuracy: topk(1), i.e. the first maximal logit, against the label, in percent of all samples.
    const scores = clsScore.dataSync();
    const C1 = this.numClasses + 1;
    for (let i = 0; i < N; i++) {
      let best = 0;
      for (let c = 1; c < C1; c++) if (scores[i * C1 + c] > scores[i * C1 + best]) best = c;
      if (best === t.labels[i]) acc++;
    }
    acc = N > 0 ? (acc * 100) / N : 0;
    const pos: number[] = [];
    t.labels.forEach((l, i) => { if (l >= 0 && l < this.numClasses) pos.push(i); });
    const [lossCls, lossBbox] = tf.tidy(() => {
      const labels = tf.tensor1d(t.labels, 'int32');
      const weights = tf.tensor1d(t.labelWeights);
      const avg = Math.max(t.labelWeights.reduce((a, w) => a + (w > 0 ? 1 : 0), 0), 1);
      const lc = this.lossCls.forward(clsScore, labels, weights, avg) as tf.Scalar;
      let lb: tf.Scalar;
      if (pos.length === 0) {
        lb = tf.mul(tf.sum(bboxPred), 0) as tf.Scalar;
      } else {
        const posIdx = tf.tensor1d(pos, 'int32');
        let predPos: tf.Tensor;
        if (this.regClassAgnostic) {
          predPos = tf.gather(bboxPred, posIdx);
        } else {
          // Row p of (N·C, 4) is roi i's deltas for class c when p = i·C + c.
          const rows = tf.tensor1d(pos.map((i) => i * this.numClasses + t.labels[i]), 'int32');
          predPos = tf.gather(tf.reshape(bboxPred, [N * this.numClasses, 4]), rows);
        }
        const tgt = tf.tensor2d(pos.flatMap((i) => Array.from(t.bboxTargets.subarray(i * 4, i * 4 + 4))), [pos.length, 4]);
        const w = tf.tensor2d(pos.flatMap((i) => Array.from(t.bboxWeights.subarray(i * 4, i * 4 + 4))), [pos.length, 4]);
        // mmdet divides by the number of sampled rois (bbox_targets.size(0)), not by the positives.
        lb = this.lossBbox.forward(predPos, tgt, w, N) as tf.Scalar;
      }
      return [lc, lb];
    });
    return { lossCls, lossBbox, acc };
  }

  /**
   * mmdet 2.11 `simple_test_bboxes` + `BBoxHead.get_bboxes` for one image. `rois` (R·5). A roi whose y2 is
   * exactly 0 is taken as batch padding by mmdet 2.11: its logits and deltas are zeroed, so it scores 1/(C+1)
   * for every class. This is reproduced because it is what the reference detector outputs.
   */
  getBboxes(
    rois: Float32Array, clsScore: tf.Tensor2D, bboxPred: tf.Tensor2D, imgShape: number[], scaleFactor: number[],
    rescale: boolean, cfg: RcnnTestCfg,
  ): Detections {
    const R = rois.length / 5;
    const C = this.numClasses;
    const [scores, boxes] = tf.tidy(() => {
      const pad = tf.tensor2d(Float32Array.from({ length: R }, (_, r) => (rois[r * 5 + 4] === 0 ? 0 : 1)), [R, 1]);
      const logits = tf.mul(clsScore, pad);
      const deltas = tf.mul(bboxPred, pad);
      const probs = tf.softmax(logits);
      const k = this.regClassAgnostic ? 1 : C;
      const boxes4 = tf.tensor2d(Float32Array.from({ length: R * 4 }, (_, i) => rois[Math.floor(i / 4) * 5 + 1 + (i % 4)]), [R, 4]);
      const tiled = tf.tile(tf.reshape(boxes4, [R, 1, 4]), [1, k, 1]);
      let dec = this.bboxCoder.decode(tiled, tf.reshape(deltas, [R, k, 4]), imgShape.slice(0, 2));
      if (rescale) dec = tf.div(dec, tf.tensor1d(scaleFactor.slice(0, 4).map(Math.fround)));
      return [probs.dataSync() as Float32Array, dec.dataSync() as Float32Array];
    });
    return multiclassNms(boxes, scores, C, cfg.score_thr, cfg.nms, cfg.max_per_img);
  }
}
