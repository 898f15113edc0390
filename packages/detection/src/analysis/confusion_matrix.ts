/**
 * Detection confusion matrix with mmdet's definition (tools/analysis_tools/confusion_matrix.py): a
 * (C+1)×(C+1) count matrix, rows = ground-truth class (last row: background), columns = predicted class
 * (last column: background / missed). Per image and per predicted class, every detection with score >= score_thr
 * adds one to [gt label, det label] for EVERY ground truth it overlaps with IoU >= tp_iou_thr (so a detection
 * can count more than once), and one to [background, det label] when it overlaps none; afterwards every ground
 * truth that no detection of its own class matched adds one to [gt label, background]. Ground truth is the
 * dataset's parsed annotations (crowd boxes excluded, as mmdet 2.x's get_ann_info); boxes are x1y1x2y2 without +1.
 * Optional per-class NMS (`nms_iou_thr`) re-suppresses the detections first, like mmdet's flag.
 */
import { nms } from '@litv2/core';
import type { COCO, CocoResult, ImageId } from '@litv2/cocoapi';
import { parseCocoAnns } from '../datasets/coco_dataset';

export interface ImageBoxes {
  /** (n·4) x1, y1, x2, y2. */
  bboxes: ArrayLike<number>;
  /** (n) contiguous class index 0..C-1. */
  labels: ArrayLike<number>;
  /** (n) detection scores (ignored for ground truth). */
  scores?: ArrayLike<number>;
}

export interface ConfusionOptions {
  /** Detections below this score are not counted (mmdet CLI default 0.3). */
  scoreThr?: number;
  /** IoU at which a detection matches a ground truth (default 0.5). */
  tpIouThr?: number;
  /** Re-run per-class NMS at this IoU before counting (default: off). */
  nmsIouThr?: number;
}

export interface ConfusionMatrix {
  /** Class names, then 'background'. */
  labels: string[];
  /** Row-major (C+1)×(C+1) counts: [gt][pred]. */
  counts: number[][];
  scoreThr: number;
  tpIouThr: number;
  nmsIouThr: number | null;
}

/** IoU of box i of `a` with box j of `b` (mmdet's numpy bbox_overlaps, mode 'iou', no +1, union floored at float32 eps). */
function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ax1 = a[i * 4], ay1 = a[i * 4 + 1], ax2 = a[i * 4 + 2], ay2 = a[i * 4 + 3];
  const bx1 = b[j * 4], by1 = b[j * 4 + 1], bx2 = b[j * 4 + 2], by2 = b[j * 4 + 3];
  const w = Math.max(Math.min(ax2, bx2) - Math.max(ax1, bx1), 0);
  const h = Math.max(Math.min(ay2, by2) - Math.max(ay1, by1), 0);
  const inter = w * h;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return inter / Math.max(union, 1.1920928955078125e-7);
}

/** Adds one image to `counts` (mmdet analyze_per_img_dets). */
export function accumulateImage(counts: number[][], gt: ImageBoxes, det: ImageBoxes, opts: Required<Pick<ConfusionOptions, 'scoreThr' | 'tpIouThr'>> & { nmsIouThr?: number }): void {
  const bg = counts.length - 1;
  const nGt = gt.labels.length;
  const matchedOwnClass = new Int32Array(nGt);
  const scores = det.scores;
  if (!scores) throw new Error('confusion matrix: detections need scores');
  // Predicted classes in ascending order (numpy.unique).
  const classes = [...new Set(Array.from(det.labels))].sort((x, y) => x - y);
  for (const c of classes) {
    let idx: number[] = [];
    for (let i = 0; i < det.labels.length; i++) if (det.labels[i] === c) idx.push(i);
    if (opts.nmsIouThr) {
      // mmcv nms(score_threshold=score_thr): low scores go first, then suppression; kept in score order.
      idx = idx.filter((i) => scores[i] >= opts.scoreThr);
      const boxes = new Float32Array(idx.length * 4);
      const sc = new Float32Array(idx.length);
      idx.forEach((d, k) => {
        for (let q = 0; q < 4; q++) boxes[k * 4 + q] = det.bboxes[d * 4 + q];
        sc[k] = scores[d];
      });
      idx = Array.from(nms(boxes, sc, opts.nmsIouThr), (k) => idx[k]);
    }
    for (const d of idx) {
      if (scores[d] < opts.scoreThr) continue;
      let matches = 0;
      for (let j = 0; j < nGt; j++) {
        if (iou(det.bboxes, d, gt.bboxes, j) >= opts.tpIouThr) {
          matches++;
          if (gt.labels[j] === c) matchedOwnClass[j]++;
          counts[gt.labels[j]][c]++;
        }
      }
      if (matches === 0) counts[bg][c]++;
    }
  }
  for (let j = 0; j < nGt; j++) if (matchedOwnClass[j] === 0) counts[gt.labels[j]][bg]++;
}

/** The matrix over paired per-image ground truth and detections. */
export function confusionMatrix(classes: readonly string[], images: readonly { gt: ImageBoxes; det: ImageBoxes }[], opts: ConfusionOptions = {}): ConfusionMatrix {
  const scoreThr = opts.scoreThr ?? 0.3;
  const tpIouThr = opts.tpIouThr ?? 0.5;
  const n = classes.length + 1;
  const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const { gt, det } of images) {
    for (const l of Array.from(gt.labels).concat(Array.from(det.labels))) {
      if (!Number.isInteger(l) || l < 0 || l >= classes.length) throw new Error(`confusion matrix: label ${l} outside 0..${classes.length - 1}`);
    }
    accumulateImage(counts, gt, det, { scoreThr, tpIouThr, nmsIouThr: opts.nmsIouThr });
  }
  return { labels: [...classes, 'background'], counts, scoreThr, tpIouThr, nmsIouThr: opts.nmsIouThr ?? null };
}

/** Each row divided by its sum, in percent (mmdet's plot); a row without entries stays NaN. */
export function normalizeRows(counts: readonly number[][]): number[][] {
  return counts.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s > 0 ? (100 * v) / s : Number.NaN));
  });
}

/** What `cocoConfusionMatrix` needs of a COCO detection dataset (CocoDetDataset has all of it). */
export interface CocoGtSource {
  coco: COCO;
  catIds: readonly number[];
  imgIds: readonly ImageId[];
  classes: readonly string[];
}

/**
 * The matrix of COCO-format results (`detection:test --out`) against a dataset's ground truth, image by
 * image in dataset order. A result whose image or category is not in the dataset is an error naming it.
 */
export function cocoConfusionMatrix(
  ds: CocoGtSource,
  results: readonly CocoResult[],
  opts: ConfusionOptions = {},
): ConfusionMatrix {
  const cat2label = new Map(ds.catIds.map((c, i) => [c, i]));
  const wanted = new Set(ds.imgIds);
  const byImage = new Map<ImageId, { boxes: number[]; labels: number[]; scores: number[] }>();
  results.forEach((r, i) => {
    if (!wanted.has(r.image_id)) throw new Error(`results[${i}]: image_id ${r.image_id} is not in the dataset`);
    const label = cat2label.get(r.category_id);
    if (label === undefined) throw new Error(`results[${i}]: category_id ${r.category_id} is not one of the dataset's categories`);
    const b = r.bbox;
    if (!b || b.length !== 4) throw new Error(`results[${i}]: needs a bbox [x, y, w, h]`);
    let e = byImage.get(r.image_id);
    if (!e) byImage.set(r.image_id, (e = { boxes: [], labels: [], scores: [] }));
    e.boxes.push(b[0], b[1], b[0] + b[2], b[1] + b[3]);
    e.labels.push(label);
    e.scores.push(r.score);
  });
  const images = ds.imgIds.map((id) => {
    const img = ds.coco.imgs.get(id);
    if (!img) throw new Error(`image id ${id} is not in the annotation file`);
    const gt = parseCocoAnns(ds.coco.imgToAnns.get(id) ?? [], img, cat2label, ds.coco.source);
    const d = byImage.get(id) ?? { boxes: [], labels: [], scores: [] };
    return { gt: { bboxes: gt.bboxes, labels: gt.labels }, det: { bboxes: d.boxes, labels: d.labels, scores: d.scores } };
  });
  return confusionMatrix(ds.classes, images, opts);
}
