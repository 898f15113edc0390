const f32 = Math.fround;

/**
 * Greedy NMS with mmcv 1.3's CPU semantics: candidates visited in descending score order (ties: lower index
 * first), IoU in float32 with `offset` (0: no +1) added to widths/heights, a box is suppressed when its IoU
 * with a kept box is strictly greater than `iouThreshold`. `boxes` is (N·4) x1,y1,x2,y2. Returns kept indices
 * in descending score order. Runs over typed arrays on the CPU: O(N·K) for K kept boxes.
 */
export function nms(boxes: Float32Array, scores: Float32Array, iouThreshold: number, offset = 0): Int32Array {
  const n = scores.length;
  if (boxes.length !== n * 4) throw new Error(`nms: ${boxes.length / 4} boxes but ${n} scores`);
  const order = sortDescending(scores);
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) areas[i] = f32(f32(boxes[i * 4 + 2] - boxes[i * 4] + offset) * f32(boxes[i * 4 + 3] - boxes[i * 4 + 1] + offset));
  const thr = f32(iouThreshold);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let a = 0; a < n; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    keep.push(i);
    const ix1 = boxes[i * 4];
    const iy1 = boxes[i * 4 + 1];
    const ix2 = boxes[i * 4 + 2];
    const iy2 = boxes[i * 4 + 3];
    const iarea = areas[i];
    for (let b = a + 1; b < n; b++) {
      const j = order[b];
      if (suppressed[j]) continue;
      const xx1 = Math.max(ix1, boxes[j * 4]);
      const yy1 = Math.max(iy1, boxes[j * 4 + 1]);
      const xx2 = Math.min(ix2, boxes[j * 4 + 2]);
      const yy2 = Math.min(iy2, boxes[j * 4 + 3]);
      const w = Math.max(0, f32(f32(xx2 - xx1) + offset));
      const h = Math.max(0, f32(f32(yy2 - yy1) + offset));
      const inter = f32(w * h);
      const ovr = f32(inter / f32(f32(iarea + areas[j]) - inter));
      if (ovr > thr) suppressed[j] = 1;
    }
  }
  return Int32Array.from(keep);
}

/** Indices sorting `scores` descending; equal scores keep ascending index order (a stable sort). */
export function sortDescending(scores: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx;
}

export interface BatchedNmsConfig {
  type?: 'nms';
  iou_threshold: number;
  class_agnostic?: boolean;
  split_thr?: number;
  offset?: number;
}

/**
 * mmcv 1.3 `batched_nms`: class-wise NMS done in one pass by shifting each class's boxes by
 * `label · (max coordinate + 1)` (float32, as mmcv), or per class when there are `split_thr` or more boxes.
 * Returns kept indices in descending score order.
 */
export function batchedNms(boxes: Float32Array, scores: Float32Array, idxs: Int32Array, cfg: BatchedNmsConfig): Int32Array {
  const n = scores.length;
  if (n === 0) return new Int32Array(0);
  if ((cfg.type ?? 'nms') !== 'nms') throw new Error(`batchedNms: only nms type 'nms' is supported, got '${cfg.type}'`);
  const offset = cfg.offset ?? 0;
  const splitThr = cfg.split_thr ?? 10000;
  let shifted = boxes;
  if (!cfg.class_agnostic) {
    let maxCoord = -Infinity;
    for (let i = 0; i < boxes.length; i++) if (boxes[i] > maxCoord) maxCoord = boxes[i];
    const step = f32(maxCoord + 1);
    shifted = new Float32Array(boxes.length);
    for (let i = 0; i < n; i++) {
      const off = f32(idxs[i] * step);
      for (let k = 0; k < 4; k++) shifted[i * 4 + k] = f32(boxes[i * 4 + k] + off);
    }
  }
  if (n < splitThr) return nms(shifted, scores, cfg.iou_threshold, offset);
  // Large inputs: NMS per class, then merge by descending score.
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byClass.get(idxs[i]);
    if (list) list.push(i);
    else byClass.set(idxs[i], [i]);
  }
  const kept: number[] = [];
  for (const members of byClass.values()) {
    const b = new Float32Array(members.length * 4);
    const s = new Float32Array(members.length);
    members.forEach((m, k) => {
      b.set(shifted.subarray(m * 4, m * 4 + 4), k * 4);
      s[k] = scores[m];
    });
    for (const k of nms(b, s, cfg.iou_threshold, offset)) kept.push(members[k]);
  }
  kept.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(kept);
}
