import * as tf from '@tensorflow/tfjs';
import { BACKBONES, buildChild, ConfigError, DETECTORS, HEADS, Module, NECKS, type Backbone, type ConfigNode, type ConfigOrigin, type Neck } from '@litv2/core';
import { AnchorHead, type AnchorHeadLosses, type AnchorHeadOutputs } from '../heads/anchor_head';
import type { Detections } from '../post_processing/multiclass_nms';
import type { DetBatch } from '../structures/det_batch';
import type { DetImgMeta } from '../structures/img_meta';
import type { Detector } from './detector';

/**
 * mmdet 2.11 `SingleStageDetector` (RetinaNet): backbone → neck → one dense anchor head. Children are built by
 * `singleStageDetectorFromConfig`; the state dict has mmdet's names (`backbone.*`, `neck.*`, `bbox_head.*`), so
 * an mmdet checkpoint loads without renaming. Images are NHWC.
 */
export class SingleStageDetector extends Module implements Detector {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly bboxHead: AnchorHead;

  constructor(backbone: Backbone, neck: Neck, bboxHead: AnchorHead) {
    super();
    this.backbone = this.addModule('backbone', backbone);
    this.neck = this.addModule('neck', neck);
    this.bboxHead = this.addModule('bbox_head', bboxHead);
  }

  extractFeat(img: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.neck.forward(this.backbone.forward(img)));
  }

  forward(img: tf.Tensor4D): AnchorHeadOutputs {
    return tf.tidy(() => this.bboxHead.forward(this.extractFeat(img)) as unknown as tf.TensorContainer) as unknown as AnchorHeadOutputs;
  }

  get numClasses(): number {
    return this.bboxHead.numClasses;
  }

  heads(): Record<string, Module> {
    return { bbox_head: this.bboxHead };
  }

  /** Per-level losses (summed by the caller as mmdet's parse_losses does). */
  lossPerLevel(batch: DetBatch): AnchorHeadLosses {
    return tf.tidy(() => {
      const outs = this.forward(batch.imgs);
      return this.bboxHead.loss(outs, batch.gt_bboxes, batch.gt_labels, batch.metas, batch.gt_bboxes_ignore) as unknown as tf.TensorContainer;
    }) as unknown as AnchorHeadLosses;
  }

  /** `loss_cls` and `loss_bbox`, each the sum over levels. */
  forwardTrain(batch: DetBatch): Record<string, tf.Scalar> {
    return tf.tidy(() => {
      const l = this.lossPerLevel(batch);
      return { loss_cls: tf.addN(l.lossCls) as tf.Scalar, loss_bbox: tf.addN(l.lossBbox) as tf.Scalar };
    });
  }

  async simpleTest(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale = true): Promise<Detections[]> {
    const outs = this.forward(img);
    try {
      return await this.bboxHead.getBboxes(outs, imgMetas, rescale);
    } finally {
      tf.dispose(outs as unknown as tf.TensorContainer);
    }
  }
}

/**
 * Builds a single-stage detector from an mmdet `model` node: the neck, the head's own keys, the backbone, then
 * the head. `train_cfg` / `test_cfg` are handed to
 * the head as mmdet does.
 */
export function singleStageDetectorFromConfig(cfg: ConfigNode, origin: ConfigOrigin): SingleStageDetector {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  for (const k of ['backbone', 'neck', 'bbox_head'] as const) if (!cfg[k] || typeof cfg[k] !== 'object') throw new ConfigError(`missing '${k}' section`, at(k));
  if (cfg.pretrained !== null && cfg.pretrained !== undefined) throw new ConfigError('use backbone.init_cfg: {type: Pretrained, checkpoint: ...} (mmdet 2.11 style) instead of model.pretrained', at('pretrained'));
  const neck = NECKS.build(cfg.neck as ConfigNode, undefined, at('neck'));
  const headCfg = { ...(cfg.bbox_head as ConfigNode), train_cfg: cfg.train_cfg ?? null, test_cfg: cfg.test_cfg ?? null };
  HEADS.resolve(headCfg, at('bbox_head'));
  // Neck, backbone, head: the order the random initialisation has always drawn in (same weights, same runs).
  const backbone = BACKBONES.build(cfg.backbone as ConfigNode, undefined, at('backbone'));
  const head = buildChild(HEADS, headCfg, at('bbox_head'), [AnchorHead]);
  return new SingleStageDetector(backbone, neck, head);
}

DETECTORS.register('RetinaNet', {
  defaults: { backbone: undefined, neck: undefined, bbox_head: undefined, train_cfg: null, test_cfg: null, pretrained: null, init_cfg: undefined },
  build: (cfg, _ctx, origin) => singleStageDetectorFromConfig(cfg, origin),
});
