import { checkTwoStageKeys } from './two_stage_keys';
import * as tf from '@tensorflow/tfjs';
import { decode, frPoly, merge } from '@litv2/cocoapi';
import { BACKBONES, ConfigError, DETECTORS, Module, NECKS, type Backbone, type ConfigNode, type ConfigOrigin, type Neck } from '@litv2/core';
import { RPNHead, type RPNHeadConfig } from '../heads/rpn_head';
import { StandardRoIHead, type RoIHeadResult, type StandardRoIHeadConfig } from '../roi_heads/standard_roi_head';
import type { Detections } from '../post_processing/multiclass_nms';
import type { DetBatch } from '../structures/det_batch';
import type { DetImgMeta } from '../structures/img_meta';
import type { Detector } from './detector';

/**
 * Rasterises each instance's polygons (img_shape coordinates) into a [G, h, w] 0/1 bitmap with the COCO polygon
 * rasteriser (pycocotools frPyObjects + merge), mmdet's poly2mask, at the padded size so it lines up with the
 * padded image.
 */
export function polygonsToBitmaps(instances: readonly number[][][], h: number, w: number): tf.Tensor3D {
  const G = instances.length;
  const out = new Float32Array(G * h * w);
  instances.forEach((polys, g) => {
    if (polys.length === 0) return;
    const m = decode(merge(frPoly(polys, h, w)));
    for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) out[(g * h + y) * w + x] = m.data[x * h + y];
  });
  return tf.tensor3d(out, [G, h, w]);
}

/** A detector that also returns instance masks (the task evaluates segm for these). */
export interface MaskDetector extends Detector {
  simpleTestWithMasks(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale?: boolean): Promise<RoIHeadResult[]>;
}

export function isMaskDetector(d: Detector): d is MaskDetector {
  return typeof (d as unknown as Partial<MaskDetector>).simpleTestWithMasks === 'function';
}

/**
 * mmdet 2.11 `TwoStageDetector` (Faster/Mask R-CNN): backbone → neck → RPNHead proposals → StandardRoIHead.
 * State dict names `backbone.*`, `neck.*`, `rpn_head.*`, `roi_head.bbox_head.*`, `roi_head.mask_head.*`, as the
 * authors' mask_rcnn_litv2 checkpoints. Proposals are computed from the RPN outputs without gradient, as mmdet.
 */
export class TwoStageDetector extends Module implements MaskDetector {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly rpnHead: RPNHead;
  readonly roiHead: StandardRoIHead;

  constructor(backbone: Backbone, neck: Neck, rpnHead: RPNHead, roiHead: StandardRoIHead) {
    super();
    this.backbone = this.addModule('backbone', backbone);
    this.neck = this.addModule('neck', neck);
    this.rpnHead = this.addModule('rpn_head', rpnHead);
    this.roiHead = this.addModule('roi_head', roiHead);
  }

  get numClasses(): number {
    return this.roiHead.bboxHead.numClasses;
  }

  heads(): Record<string, Module> {
    return { rpn_head: this.rpnHead, roi_head: this.roiHead };
  }

  extractFeat(img: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.neck.forward(this.backbone.forward(img)));
  }

  /** RPN losses (summed over levels) + R-CNN losses; `acc` is not returned (not a loss, not differentiable). */
  forwardTrain(batch: DetBatch): Record<string, tf.Scalar> {
    return tf.tidy(() => {
      const feats = this.extractFeat(batch.imgs);
      const rpnOut = this.rpnHead.forward(feats);
      const gtBoxes = batch.gt_bboxes.map((t) => t.dataSync() as Float32Array);
      const gtLabels = batch.gt_labels.map((t) => Int32Array.from(t.dataSync()));
      const ignore = batch.gt_bboxes_ignore.map((t) => t.dataSync() as Float32Array);
      const rl = this.rpnHead.loss(rpnOut, gtBoxes, batch.metas, ignore);
      const proposals = this.rpnHead.getProposals(rpnOut, batch.metas, true);
      const [padH, padW] = [batch.imgs.shape[1], batch.imgs.shape[2]];
      const gts = gtBoxes.map((bboxes, i) => ({
        bboxes, labels: gtLabels[i], bboxesIgnore: ignore[i],
        masks: this.roiHead.withMask ? polygonsToBitmaps(batch.gt_masks?.[i] ?? missingMasks(i), padH, padW) : null,
      }));
      const roi = this.roiHead.forwardTrain(feats, proposals, gts);
      const losses: Record<string, tf.Scalar> = {
        loss_rpn_cls: tf.addN(rl.lossCls) as tf.Scalar,
        loss_rpn_bbox: tf.addN(rl.lossBbox) as tf.Scalar,
        loss_cls: roi.loss_cls,
        loss_bbox: roi.loss_bbox,
      };
      if (roi.loss_mask) losses.loss_mask = roi.loss_mask;
      return losses;
    });
  }

  async simpleTestWithMasks(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale = true): Promise<RoIHeadResult[]> {
    const feats = this.extractFeat(img);
    try {
      const rpnOut = this.rpnHead.forward(feats);
      const proposals = this.rpnHead.getProposals(rpnOut, imgMetas, false);
      tf.dispose([...rpnOut.clsScores, ...rpnOut.bboxPreds]);
      return this.roiHead.simpleTest(feats, proposals, imgMetas, rescale);
    } finally {
      tf.dispose(feats);
    }
  }

  async simpleTest(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale = true): Promise<Detections[]> {
    return (await this.simpleTestWithMasks(img, imgMetas, rescale)).map((r) => r.dets);
  }
}

function missingMasks(i: number): never {
  throw new Error(`image ${i} of the batch has no gt_masks: add 'with_mask: true' to LoadAnnotations and gt_masks to Collect`);
}

/** Builds a two-stage detector from an mmdet `model` node (neck and heads first, then the backbone). */
export function twoStageDetectorFromConfig(cfg: ConfigNode, origin: ConfigOrigin): TwoStageDetector {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  for (const k of ['backbone', 'neck', 'rpn_head', 'roi_head'] as const) if (!cfg[k] || typeof cfg[k] !== 'object') throw new ConfigError(`missing '${k}' section`, at(k));
  if (cfg.pretrained !== null && cfg.pretrained !== undefined) throw new ConfigError('use backbone.init_cfg: {type: Pretrained, checkpoint: ...} (mmdet 2.11 style) instead of model.pretrained', at('pretrained'));
  // Every key of every part first (with suggestions); the parts' constructors then check values.
  checkTwoStageKeys(cfg, origin);
  const train = (cfg.train_cfg ?? null) as { rpn?: RPNHeadConfig['train_cfg']; rpn_proposal?: RPNHeadConfig['proposal_cfg']; rcnn?: StandardRoIHeadConfig['train_cfg'] } | null;
  const test = (cfg.test_cfg ?? null) as { rpn?: RPNHeadConfig['test_cfg']; rcnn?: StandardRoIHeadConfig['test_cfg'] } | null;
  const neck = NECKS.build(cfg.neck as ConfigNode, undefined, at('neck'));
  const rpnCfg = cfg.rpn_head as unknown as RPNHeadConfig;
  const rpn = new RPNHead({ ...rpnCfg, train_cfg: train?.rpn ?? null, proposal_cfg: train?.rpn_proposal ?? null, test_cfg: test?.rpn ?? null }, at('rpn_head'));
  const roiCfg = cfg.roi_head as unknown as StandardRoIHeadConfig;
  const roi = new StandardRoIHead({ ...roiCfg, train_cfg: train?.rcnn ?? null, test_cfg: test?.rcnn ?? null }, at('roi_head'));
  const backbone = BACKBONES.build(cfg.backbone as ConfigNode, undefined, at('backbone'));
  return new TwoStageDetector(backbone, neck, rpn, roi);
}

for (const name of ['MaskRCNN', 'FasterRCNN']) {
  DETECTORS.register(name, {
    defaults: { backbone: undefined, neck: undefined, rpn_head: undefined, roi_head: undefined, train_cfg: null, test_cfg: null, pretrained: null, init_cfg: undefined },
    build: (cfg, _ctx, origin) => twoStageDetectorFromConfig(cfg, origin),
  });
}
