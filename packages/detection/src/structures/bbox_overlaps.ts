import * as tf from '@tensorflow/tfjs';

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
    const area = (b: tf.Tensor) => {
      const [x1, y1, x2, y2] = tf.unstack(b, -1);
      return x2.sub(x1).mul(y2.sub(y1));
    };
    const b1 = aligned ? bboxes1 : bboxes1.expandDims(1); // (M,1,4)
    const b2 = aligned ? bboxes2 : bboxes2.expandDims(0); // (1,N,4)
    const area1 = area(b1);
    const area2 = area(b2);
    const lo1 = b1.slice(aligned ? [0, 0] : [0, 0, 0], aligned ? [-1, 2] : [-1, -1, 2]);
    const hi1 = b1.slice(aligned ? [0, 2] : [0, 0, 2], aligned ? [-1, 2] : [-1, -1, 2]);
    const lo2 = b2.slice(aligned ? [0, 0] : [0, 0, 0], aligned ? [-1, 2] : [-1, -1, 2]);
    const hi2 = b2.slice(aligned ? [0, 2] : [0, 0, 2], aligned ? [-1, 2] : [-1, -1, 2]);
    const wh = tf.relu(tf.minimum(hi1, hi2).sub(tf.maximum(lo1, lo2)));
    const [w, h] = tf.unstack(wh, -1);
    const overlap = w.mul(h);
    const union0 = mode === 'iof' ? area1.add(tf.zerosLike(overlap)) : area1.add(area2).sub(overlap);
    const union = tf.maximum(union0, eps);
    const ious = overlap.div(union);
    if (mode !== 'giou') return ious;
    const ewh = tf.relu(tf.maximum(hi1, hi2).sub(tf.minimum(lo1, lo2)));
    const [ew, eh] = tf.unstack(ewh, -1);
    const enclose = tf.maximum(ew.mul(eh), eps);
    return ious.sub(enclose.sub(union).div(enclose));
  });
}
