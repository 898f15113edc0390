import * as fs from 'node:fs';
import * as path from 'node:path';
import { COCO, COCOeval, type CocoResult, type ImageId } from '@litv2/cocoapi';
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

export const BBOX_METRIC_NAMES = ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l', 'bbox_AR_1', 'bbox_AR_10', 'bbox_AR_100', 'bbox_AR_s', 'bbox_AR_m', 'bbox_AR_l'];

/**
 * COCO box evaluation as mmdet's CocoDataset.evaluate(metric='bbox'): writes the results JSON (when `outFile`),
 * runs COCOeval over the dataset's image ids and returns the 12 stats and pycocotools' printed table followed
 * by the per-category AP table (mmdet's `classwise`).
 */
export function evaluateCocoBbox(
  gt: COCO,
  results: CocoResult[],
  imgIds: ImageId[],
  outFile?: string,
): { metrics: Record<string, number>; table: string; classwise: CategoryAP[] } {
  if (outFile) {
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(results));
  }
  const lines: string[] = [];
  if (results.length === 0) {
    const metrics = Object.fromEntries(BBOX_METRIC_NAMES.map((n) => [n, 0]));
    return { metrics, table: 'no detections: every bbox metric is 0', classwise: [] };
  }
  const dt = gt.loadRes(results);
  const ev = new COCOeval(gt, dt, 'bbox');
  ev.params.imgIds = imgIds;
  ev.evaluate();
  ev.accumulate();
  const stats = ev.summarize((l: string) => lines.push(l));
  const metrics: Record<string, number> = {};
  BBOX_METRIC_NAMES.forEach((n, i) => (metrics[n] = stats[i]));
  const names = new Map([...gt.cats.values()].map((c) => [c.id, c.name]));
  const classwise = classwiseAP(ev, names);
  lines.push('per-category bbox AP@[.50:.95]:', formatClasswiseTable(classwise));
  return { metrics, table: lines.join('\n'), classwise };
}
