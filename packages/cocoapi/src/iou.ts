/**
 * Pairwise IoU between detections and ground truths, for boxes and for RLE masks (C mask API semantics).
 * Results are row-major [d * n + g] (detection rows, ground-truth columns).
 *
 * Crowd ground truths use the detection's area as the denominator (intersection over detection).
 */
import { rleArea, rleIntersectUnion, rleToBboxInto, type RLE } from './rle';

/**
 * IoU of one [x, y, w, h] detection box with one ground-truth box (continuous coordinates, no +1), in the
 * C mask API's operation order; a crowd ground truth divides by the detection's area.
 */
export function boxPairIou(dx: number, dy: number, dw: number, dh: number, gx: number, gy: number, gw: number, gh: number, crowd: boolean): number {
  const iw = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
  if (iw <= 0) return 0;
  const ih = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
  if (ih <= 0) return 0;
  const i = iw * ih;
  const da = dw * dh;
  return i / (crowd ? da : da + gw * gh - i);
}

/** Boxes are packed [x, y, w, h] per row. */
export function bbIou(
  dt: ArrayLike<number>,
  gt: ArrayLike<number>,
  m: number,
  n: number,
  iscrowd: ArrayLike<number> | null,
  out: Float64Array = new Float64Array(m * n),
): Float64Array {
  for (let g = 0; g < n; g++) {
    const gx = gt[4 * g];
    const gy = gt[4 * g + 1];
    const gw = gt[4 * g + 2];
    const gh = gt[4 * g + 3];
    const crowd = iscrowd !== null && iscrowd[g] ? true : false;
    for (let d = 0; d < m; d++) {
      out[d * n + g] = boxPairIou(dt[4 * d], dt[4 * d + 1], dt[4 * d + 2], dt[4 * d + 3], gx, gy, gw, gh, crowd);
    }
  }
  return out;
}

/**
 * Mask IoU. The exact run walk happens only where the masks' bounding boxes overlap; masks of different
 * sizes give -1. `dtBoxes`/`gtBoxes` may be passed when already known (they must equal rleToBbox).
 */
export function rleIou(
  dt: readonly RLE[],
  gt: readonly RLE[],
  iscrowd: ArrayLike<number> | null,
  dtBoxes?: Float64Array,
  gtBoxes?: Float64Array,
  out?: Float64Array,
): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const db = dtBoxes ?? boxesOf(dt);
  const gb = gtBoxes ?? boxesOf(gt);
  const o = bbIou(db, gb, m, n, iscrowd, out);
  for (let g = 0; g < n; g++) {
    const crowd = iscrowd !== null && iscrowd[g] ? true : false;
    const G = gt[g];
    for (let d = 0; d < m; d++) {
      const idx = d * n + g;
      if (!(o[idx] > 0)) continue;
      const D = dt[d];
      if (D.h !== G.h || D.w !== G.w) {
        o[idx] = -1;
        continue;
      }
      const { inter, union } = rleIntersectUnion(D, G);
      let u = union;
      if (inter === 0) u = 1;
      else if (crowd) u = rleArea(D);
      o[idx] = inter / u;
    }
  }
  return o;
}

export function boxesOf(rles: readonly RLE[]): Float64Array {
  const bb = new Float64Array(rles.length * 4);
  for (let i = 0; i < rles.length; i++) rleToBboxInto(rles[i], bb, 4 * i);
  return bb;
}
