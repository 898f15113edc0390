import * as tf from '@tensorflow/tfjs';
import { columns } from './columns';

export type OverlapMode = 'iou' | 'iof' | 'giou';

/**
 * mmdet 2.11 `bbox_overlaps` on (M,4) × (N,4) boxes (x1,y1,x2,y2, no +1): IoU, IoF (intersection over the
 * area of `bboxes1`) or GIoU; `aligned` gives the M pairwise values of equal-length sets. Unions and enclosing
 * areas are floored at `eps`. Empty inputs give an empty (M, N) / (M,) result.
 */
export function bboxOverlaps(bboxes1: tf.Tensor2D, bboxes2: tf.Tensor2D, mode: OverlapMode = 'iou', aligned = false, eps = 1e-6): tf.Tensor {
  const rows = bboxes1.shape[0];
  const cols = bboxes2.shape[0];
  if (aligned && rows !== cols) throw new Error(`bboxOverlaps: aligned needs equal counts, got ${rows} and ${cols}`);
  if (rows * cols === 0) return aligned ? tf.zeros([rows]) : tf.zeros([rows, cols]);
  return tf.tidy(() => {
    // Work on coordinate columns: (M,1) against (1,N) (or (M,) against (M,) when aligned), so no op has to
    // slice the large (M, N, 4) broadcast.
    const [ax1, ay1, ax2, ay2] = columns(bboxes1, 4).map((c) => (aligned ? c : c.expandDims(1)));
    const [bx1, by1, bx2, by2] = columns(bboxes2, 4).map((c) => (aligned ? c : c.expandDims(0)));
    const area1 = ax2.sub(ax1).mul(ay2.sub(ay1));
    const area2 = bx2.sub(bx1).mul(by2.sub(by1));
    const w = tf.relu(tf.minimum(ax2, bx2).sub(tf.maximum(ax1, bx1)));
    const h = tf.relu(tf.minimum(ay2, by2).sub(tf.maximum(ay1, by1)));
    const overlap = w.mul(h);
    const union0 = mode === 'iof' ? area1.add(tf.zerosLike(overlap)) : area1.add(area2).sub(overlap);
    const union = tf.maximum(union0, eps);
    const ious = overlap.div(union);
    if (mode !== 'giou') return ious;
    const ew = tf.relu(tf.maximum(ax2, bx2).sub(tf.minimum(ax1, bx1)));
    const eh = tf.relu(tf.maximum(ay2, by2).sub(tf.minimum(ay1, by1)));
    const enclose = tf.maximum(ew.mul(eh), eps);
    return ious.sub(enclose.sub(union).div(enclose));
  });
}
