import * as tf from '@tensorflow/tfjs';
import { BACKBONES, ConfigError, Module, NECKS, type Backbone, type ConfigNode, type ConfigOrigin, type Neck } from '@litv2/core';
import { RetinaHead, type RetinaHeadConfig, type RetinaLosses, type RetinaOutputs, type RetinaTestCfg, type RetinaTrainCfg } from '../heads/retina_head';
import type { Detections } from '../post_processing/multiclass_nms';
import type { DetImgMeta } from '../structures/img_meta';

export interface RetinaNetConfig {
  type?: 'RetinaNet';
  backbone: ConfigNode;
  neck: ConfigNode;
  bbox_head: ConfigNode;
  train_cfg?: RetinaTrainCfg | null;
  test_cfg?: RetinaTestCfg | null;
  pretrained?: string | null;
  init_cfg?: unknown;
}

/**
 * A training batch (the engine's collated `Batch` plus box tensors): NHWC images padded to one size, one
 * (n, 4) x1y1x2y2 box tensor (img_shape coordinates) and one (n,) int32 label tensor per image.
 */
export interface DetTrainBatch {
  imgs: tf.Tensor4D;
  metas: DetImgMeta[];
  gt_bboxes: tf.Tensor2D[];
  gt_labels: tf.Tensor1D[];
  gt_bboxes_ignore?: (tf.Tensor2D | null)[];
}

/**
 * mmdet 2.11 `RetinaNet` (SingleStageDetector): `backbone.*`, `neck.*`, `bbox_head.*` children, so an mmdet
 * checkpoint's state dict loads without renaming. Images are NHWC.
 */
export class RetinaNet extends Module {
  readonly backbone: Backbone;
  readonly neck: Neck;
  readonly bboxHead: RetinaHead;

  constructor(cfg: RetinaNetConfig, origin: ConfigOrigin = { path: 'model' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    for (const k of ['backbone', 'neck', 'bbox_head'] as const) if (!cfg[k] || typeof cfg[k] !== 'object') throw new ConfigError(`missing '${k}' section`, at(k));
    // Cheap checks first: building a large backbone takes seconds.
    const headCfg = cfg.bbox_head as unknown as RetinaHeadConfig;
    if ((headCfg.type ?? 'RetinaHead') !== 'RetinaHead') throw new ConfigError(`bbox_head type '${headCfg.type}' is not supported (RetinaHead)`, at('bbox_head.type'));
    const neck = NECKS.build(cfg.neck, undefined, at('neck'));
    this.backbone = this.addModule('backbone', BACKBONES.build(cfg.backbone, undefined, at('backbone')));
    this.neck = this.addModule('neck', neck);
    this.bboxHead = this.addModule('bbox_head', new RetinaHead({ ...headCfg, train_cfg: cfg.train_cfg ?? null, test_cfg: cfg.test_cfg ?? null }, at('bbox_head')));
  }

  extractFeat(img: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => this.neck.forward(this.backbone.forward(img)));
  }

  forward(img: tf.Tensor4D): RetinaOutputs {
    return tf.tidy(() => this.bboxHead.forward(this.extractFeat(img)) as unknown as tf.TensorContainer) as unknown as RetinaOutputs;
  }

  /** Per-level losses (summed by the caller as mmdet's parse_losses does). */
  lossPerLevel(batch: DetTrainBatch): RetinaLosses {
    return tf.tidy(() => {
      const outs = this.forward(batch.imgs);
      return this.bboxHead.loss(outs, batch.gt_bboxes, batch.gt_labels, batch.metas, batch.gt_bboxes_ignore) as unknown as tf.TensorContainer;
    }) as unknown as RetinaLosses;
  }

  /** `loss_cls` and `loss_bbox`, each the sum over levels. */
  forwardTrain(batch: DetTrainBatch): Record<string, tf.Scalar> {
    return tf.tidy(() => {
      const l = this.lossPerLevel(batch);
      return { loss_cls: tf.addN(l.lossCls) as tf.Scalar, loss_bbox: tf.addN(l.lossBbox) as tf.Scalar };
    });
  }

  /** Detections per image; with `rescale` boxes are in original-image coordinates. */
  async simpleTest(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale = true): Promise<Detections[]> {
    const outs = this.forward(img);
    try {
      return await this.bboxHead.getBboxes(outs, imgMetas, rescale);
    } finally {
      tf.dispose(outs as unknown as tf.TensorContainer);
    }
  }
}
