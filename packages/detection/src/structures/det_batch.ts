import * as tf from '@tensorflow/tfjs';
import { collate, type Batch, type Sample } from '@litv2/core';

/**
 * The one batch type of detection (training, evaluation, predict, benchmark, fixtures): the engine's collated
 * NHWC images padded to one size plus, per image, an (n, 4) x1y1x2y2 box tensor in img_shape coordinates, an
 * (n,) int32 label tensor and the boxes to ignore.
 */
export interface DetBatch extends Batch {
  gt_bboxes: tf.Tensor2D[];
  gt_labels: tf.Tensor1D[];
  gt_bboxes_ignore: tf.Tensor2D[];
  /** Per image, one polygon list per gt (img_shape coordinates), when the pipeline collected gt_masks. */
  gt_masks?: number[][][][];
}

/** Default collate + one (n, 4) box and (n,) label tensor per image. */
export function collateDetection(samples: Sample[]): DetBatch {
  const base = collate(samples);
  const boxes = (b: Float32Array | undefined) => tf.tensor2d(b ?? new Float32Array(0), [(b?.length ?? 0) / 4, 4]);
  return {
    ...base,
    gt_bboxes: samples.map((s) => boxes(s.gt_bboxes)),
    gt_labels: samples.map((s) => tf.tensor1d(s.gt_labels ?? new Int32Array(0), 'int32')),
    gt_bboxes_ignore: samples.map((s) => boxes(s.gt_bboxes_ignore)),
    ...(samples.some((s) => s.gt_masks) ? { gt_masks: samples.map((s) => s.gt_masks ?? []) } : {}),
  };
}

/** Disposes every tensor of a batch (the one place that knows what a DetBatch holds). */
export function disposeDetBatch(batch: DetBatch): void {
  tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels, ...batch.gt_bboxes_ignore]);
}
