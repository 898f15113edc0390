import * as tf from '@tensorflow/tfjs';
import { variableGradsLean } from '@litv2/core';
import type { Detector } from '../detectors/detector';
import { denseDetectorFlops, type DenseDetectorFlopsConfig } from '../analysis/flops';
import type { DetBatch } from '../structures/det_batch';
import type { DetImgMeta } from '../structures/img_meta';

export interface DetBenchmarkResult {
  inputHW: [number, number];
  paddedHW: [number, number];
  params: number;
  flops: { total: number; backbone: number; neck: number; head: number; atHW: [number, number] };
  /** Seconds per image (median of the timed runs), backbone → detections incl. NMS. */
  secondsPerImage: number;
  fps: number;
  runs: number[];
}

/**
 * Inference speed of a detector on a synthetic image of `h`×`w` (resized size, mmdet's 1333×800 test scale by
 * default), padded to a multiple of 32 as the test pipeline does: `warmup` untimed runs, then the median of
 * `iters` timed `simpleTest` calls (forward + post-processing + NMS). Params exclude buffers. FLOPs are the
 * analytic count of `denseDetectorFlops` at `flopsHW` (the paper reports 1280×800).
 */
export async function benchmarkDetector(
  model: Detector,
  modelCfg: DenseDetectorFlopsConfig,
  opts: { h?: number; w?: number; warmup?: number; iters?: number; flopsHW?: [number, number]; log?: (l: string) => void } = {},
): Promise<DetBenchmarkResult> {
  const h = opts.h ?? 800;
  const w = opts.w ?? 1333;
  const ph = Math.ceil(h / 32) * 32;
  const pw = Math.ceil(w / 32) * 32;
  const meta: DetImgMeta = { ori_shape: [h, w, 3], img_shape: [h, w, 3], pad_shape: [ph, pw, 3], scale_factor: [1, 1, 1, 1] };
  const img = tf.tidy(() => tf.pad(tf.randomNormal([1, h, w, 3], 0, 1, 'float32', 1), [[0, 0], [0, ph - h], [0, pw - w], [0, 0]])) as tf.Tensor4D;
  model.eval();
  const runs: number[] = [];
  try {
    for (let i = 0; i < (opts.warmup ?? 1); i++) await model.simpleTest(img, [meta], false);
    for (let i = 0; i < (opts.iters ?? 3); i++) {
      const t0 = performance.now();
      await model.simpleTest(img, [meta], false);
      runs.push((performance.now() - t0) / 1000);
      opts.log?.(`run ${i + 1}: ${runs[i].toFixed(2)} s`);
    }
  } finally {
    img.dispose();
  }
  const sorted = [...runs].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)];
  const [fh, fw] = opts.flopsHW ?? [800, 1280];
  const f = denseDetectorFlops({ ...modelCfg, backbone: model.backbone }, fh, fw);
  return {
    inputHW: [h, w],
    paddedHW: [ph, pw],
    params: model.numParameters(),
    flops: { total: f.total, backbone: f.backbone, neck: f.neck, head: f.head, atHW: [fh, fw] },
    secondsPerImage: med,
    fps: 1 / med,
    runs,
  };
}

/**
 * Seconds per training iteration (forward, targets, losses, backward; optimizer update excluded) for a batch of
 * `batch` random images of h×w padded to 32 with 3 random boxes each: `warmup` untimed, median of `iters`.
 */
export async function benchmarkTrainStep(model: Detector, opts: { h?: number; w?: number; batch?: number; warmup?: number; iters?: number; log?: (l: string) => void } = {}): Promise<{ secondsPerIter: number; runs: number[] }> {
  const h = opts.h ?? 800;
  const w = opts.w ?? 1333;
  const bs = opts.batch ?? 2;
  const ph = Math.ceil(h / 32) * 32;
  const pw = Math.ceil(w / 32) * 32;
  const meta: DetImgMeta = { ori_shape: [h, w, 3], img_shape: [h, w, 3], pad_shape: [ph, pw, 3], scale_factor: [1, 1, 1, 1] };
  const imgs = tf.tidy(() => tf.pad(tf.randomNormal([bs, h, w, 3], 0, 1, 'float32', 2), [[0, 0], [0, ph - h], [0, pw - w], [0, 0]])) as tf.Tensor4D;
  const boxes = Array.from({ length: bs }, () => tf.tensor2d([[0.1 * w, 0.1 * h, 0.4 * w, 0.5 * h], [0.5 * w, 0.2 * h, 0.9 * w, 0.6 * h], [0.3 * w, 0.6 * h, 0.5 * w, 0.9 * h]]));
  const labels = Array.from({ length: bs }, () => tf.tensor1d([0, 1, 2], 'int32'));
  const batch = { imgs, metas: Array(bs).fill({ ...meta, index: 0, filename: 'random' }), gt_bboxes: boxes, gt_labels: labels, gt_bboxes_ignore: [], samples: [] } as unknown as DetBatch;
  model.train();
  const vars = model.parameters();
  const runs: number[] = [];
  try {
    for (let i = 0; i < (opts.warmup ?? 1) + (opts.iters ?? 2); i++) {
      const t0 = performance.now();
      const { value, grads } = variableGradsLean(() => tf.addN(Object.values(model.forwardTrain(batch))) as tf.Scalar, vars);
      await value.data();
      await Promise.all(Object.values(grads).map((g) => g.data()));
      tf.dispose([value, ...Object.values(grads)]);
      const s = (performance.now() - t0) / 1000;
      if (i >= (opts.warmup ?? 1)) runs.push(s);
      opts.log?.(`train iteration ${i + 1}: ${s.toFixed(2)} s${i < (opts.warmup ?? 1) ? ' (warm-up)' : ''}`);
    }
  } finally {
    tf.dispose([imgs, ...boxes, ...labels]);
    model.eval();
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { secondsPerIter: sorted[Math.floor(sorted.length / 2)], runs };
}
