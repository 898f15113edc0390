import { batchedNms, type BatchedNmsConfig } from '@litv2/core';

/** Final detections of one image: `bboxes` (K·5: x1,y1,x2,y2,score) in descending score order, `labels` (K). */
export interface Detections {
  bboxes: Float32Array;
  labels: Int32Array;
}

/**
 * mmdet 2.11 `multiclass_nms` over CPU arrays. `boxes` (N·4, shared by all classes) or (N·C·4, per class),
 * `scores` (N·(C+1)) with the background column last. Keeps (box, class) pairs whose score is strictly above
 * `scoreThr`, in row-major (box, class) order, runs class-wise batched NMS and caps the result at `maxNum`.
 */
export function multiclassNms(
  boxes: Float32Array,
  scores: Float32Array,
  numClasses: number,
  scoreThr: number,
  nmsCfg: BatchedNmsConfig,
  maxNum = -1,
): Detections {
  const n = scores.length / (numClasses + 1);
  if (!Number.isInteger(n)) throw new Error(`multiclassNms: ${scores.length} scores is not a multiple of ${numClasses + 1}`);
  const perClass = boxes.length === n * numClasses * 4 && numClasses > 1;
  if (!perClass && boxes.length !== n * 4) throw new Error(`multiclassNms: ${boxes.length / 4} boxes for ${n} score rows`);
  const thr = Math.fround(scoreThr);
  const candBoxes: number[] = [];
  const candScores: number[] = [];
  const candLabels: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < numClasses; c++) {
      const s = scores[i * (numClasses + 1) + c];
      if (!(s > thr)) continue;
      const o = perClass ? (i * numClasses + c) * 4 : i * 4;
      candBoxes.push(boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]);
      candScores.push(s);
      candLabels.push(c);
    }
  }
  if (candScores.length === 0) return { bboxes: new Float32Array(0), labels: new Int32Array(0) };
  const cb = Float32Array.from(candBoxes);
  const cs = Float32Array.from(candScores);
  let keep = batchedNms(cb, cs, Int32Array.from(candLabels), nmsCfg);
  if (maxNum > 0 && keep.length > maxNum) keep = keep.subarray(0, maxNum);
  const bboxes = new Float32Array(keep.length * 5);
  const labels = new Int32Array(keep.length);
  keep.forEach((k, j) => {
    bboxes.set(cb.subarray(k * 4, k * 4 + 4), j * 5);
    bboxes[j * 5 + 4] = cs[k];
    labels[j] = candLabels[k];
  });
  return { bboxes, labels };
}
