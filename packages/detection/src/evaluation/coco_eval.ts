import * as fs from 'node:fs';
import * as path from 'node:path';
import { COCO, COCOeval, encode, type BinaryMask, type CocoResult, type ImageId } from '@litv2/cocoapi';
import type { Detections } from '../post_processing/multiclass_nms';
import { classwiseAP, formatClasswiseTable, type CategoryAP } from '../analysis/classwise';

/** mmdet's `bbox2result` + `_det2json`: x1y1x2y2 → [x, y, w, h] (no +1), label → category id. */
export function detectionsToCoco(imgId: ImageId, dets: Detections, catIds: number[]): CocoResult[] {
  const out: CocoResult[] = [];
  for (let i = 0; i < dets.labels.length; i++) {
    const [x1, y1, x2, y2, s] = dets.bboxes.subarray(i * 5, i * 5 + 5);
    out.push({ image_id: imgId, category_id: catIds[dets.labels[i]], bbox: [x1, y1, x2 - x1, y2 - y1], score: s });
  }
  return out;
}

/**
 * mmdet's `segm2json`: one result per detection that has a mask, its binary mask as compressed COCO RLE, scored
 * with the box score (mmdet 2.11 uses the bbox score for segm results). Detections without a mask (mmdet's
 * padding removal) are left out of the segm results.
 */
export function masksToCoco(imgId: ImageId, dets: Detections, masks: readonly (BinaryMask | null)[], catIds: number[]): CocoResult[] {
  const out: CocoResult[] = [];
  for (let i = 0; i < dets.labels.length; i++) {
    const m = masks[i];
    if (!m) continue;
    out.push({ image_id: imgId, category_id: catIds[dets.labels[i]], segmentation: encode(m), score: dets.bboxes[i * 5 + 4] });
  }
  return out;
}

const STAT_NAMES = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l', 'AR_1', 'AR_10', 'AR_100', 'AR_s', 'AR_m', 'AR_l'];
export const BBOX_METRIC_NAMES = STAT_NAMES.map((n) => `bbox_${n}`);
export const SEGM_METRIC_NAMES = STAT_NAMES.map((n) => `segm_${n}`);

/** COCO box evaluation (mmdet `evaluate(metric='bbox')`); see `evaluateCoco`. */
export function evaluateCocoBbox(gt: COCO, results: CocoResult[], imgIds: ImageId[], outFile?: string): { metrics: Record<string, number>; table: string; classwise: CategoryAP[] } {
  return evaluateCoco(gt, results, imgIds, 'bbox', outFile);
}

/**
 * COCO evaluation as mmdet's CocoDataset.evaluate for one metric ('bbox' or 'segm'): writes the results JSON (when
 * `outFile`), runs COCOeval over the dataset's image ids and returns the 12 stats (named `<metric>_mAP`, ...) and
 * pycocotools' printed table followed by the per-category AP table (mmdet's `classwise`).
 */
export function evaluateCoco(
  gt: COCO,
  results: CocoResult[],
  imgIds: ImageId[],
  iouType: 'bbox' | 'segm',
  outFile?: string,
): { metrics: Record<string, number>; table: string; classwise: CategoryAP[] } {
  const NAMES = iouType === 'bbox' ? BBOX_METRIC_NAMES : SEGM_METRIC_NAMES;
  if (outFile) {
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(results));
  }
  const lines: string[] = [];
  if (results.length === 0) {
    const metrics = Object.fromEntries(NAMES.map((n) => [n, 0]));
    return { metrics, table: `no detections: every ${iouType} metric is 0`, classwise: [] };
  }
  const dt = gt.loadRes(results);
  const ev = new COCOeval(gt, dt, iouType);
  ev.params.imgIds = imgIds;
  ev.evaluate();
  ev.accumulate();
  const stats = ev.summarize((l: string) => lines.push(l));
  const metrics: Record<string, number> = {};
  NAMES.forEach((n, i) => (metrics[n] = stats[i]));
  const names = new Map([...gt.cats.values()].map((c) => [c.id, c.name]));
  const classwise = classwiseAP(ev, names);
  lines.push(`per-category ${iouType} AP@[.50:.95]:`, formatClasswiseTable(classwise));
  return { metrics, table: lines.join('\n'), classwise };
}
