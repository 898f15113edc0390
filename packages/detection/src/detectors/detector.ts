import type * as tf from '@tensorflow/tfjs';
import { DETECTORS, type Backbone, type ConfigNode, type Module, type Neck, type TrainableModel } from '@litv2/core';
import type { Detections } from '../post_processing/multiclass_nms';
import type { DetBatch } from '../structures/det_batch';
import type { DetImgMeta } from '../structures/img_meta';
import '../builtin';

/**
 * What the task, predict, benchmark, FLOPs and fixture code need of a detector; none of them names a model.
 * mmdet's state-dict names: `backbone.*`, `neck.*`, then the heads' own prefixes.
 */
export interface Detector extends TrainableModel<DetBatch> {
  readonly backbone: Backbone;
  readonly neck: Neck;
  /** Object classes the detector predicts (labels 0..numClasses-1). */
  readonly numClasses: number;
  /** Backbone then neck: the multi-scale maps the heads read. */
  extractFeat(img: tf.Tensor4D): tf.Tensor4D[];
  /** Named scalar loss terms of one batch (summed over levels; mmdet's parse_losses adds those with 'loss'). */
  forwardTrain(batch: DetBatch): Record<string, tf.Scalar>;
  /** Detections per image; with `rescale` boxes are in original-image coordinates. */
  simpleTest(img: tf.Tensor4D, imgMetas: DetImgMeta[], rescale?: boolean): Promise<Detections[]>;
  /** The head modules after the neck, by state-dict prefix (complexity tables). */
  heads(): Record<string, Module>;
}

/** Builds a detector from the `model` section of a config (any type registered in DETECTORS). */
export function buildDetector(cfg: ConfigNode, file?: string): Detector {
  return DETECTORS.build(cfg, undefined, { file, path: 'model' }) as unknown as Detector;
}
