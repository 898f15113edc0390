import { COCO, COCOeval, type CocoDataset, type CocoResult } from '@litv2/cocoapi';
import { formatClasswiseTable } from '../src/analysis/classwise';
import { cocoConfusionMatrix, confusionMatrix, normalizeRows } from '../src/analysis/confusion_matrix';
import { evaluateCocoBbox } from '../src/evaluation/coco_eval';

/** Small deterministic LCG so the fixtures are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** 12 images, categories 1, 3, 7 ('cat', 'dog', 'kite'; 'kite' has no ground truth), jittered detections. */
function fixture(): { gt: CocoDataset; dt: CocoResult[] } {
  const rnd = lcg(7);
  const images = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, width: 200, height: 160, file_name: `${i}.jpg` }));
  const annotations: CocoDataset['annotations'] = [];
  const dt: CocoResult[] = [];
  let id = 1;
  for (const img of images) {
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const w = 10 + rnd() * 80, h = 10 + rnd() * 60, x = rnd() * (200 - w), y = rnd() * (160 - h);
      const cat = rnd() < 0.5 ? 1 : 3;
      annotations.push({ id: id++, image_id: img.id, category_id: cat, bbox: [x, y, w, h], area: w * h, iscrowd: id % 17 === 0 ? 1 : 0 });
      if (rnd() < 0.8) {
        const j = () => (rnd() - 0.5) * 0.3;
        const dcat = rnd() < 0.8 ? cat : rnd() < 0.5 ? 7 : 4 - cat;
        dt.push({ image_id: img.id, category_id: dcat, bbox: [x + w * j(), y + h * j(), w * (1 + j()), h * (1 + j())], score: 0.2 + 0.8 * rnd() });
      }
    }
    if (rnd() < 0.5) dt.push({ image_id: img.id, category_id: 3, bbox: [rnd() * 100, rnd() * 80, 30, 30], score: rnd() });
  }
  const categories = [{ id: 1, name: 'cat' }, { id: 3, name: 'dog' }, { id: 7, name: 'kite' }];
  return { gt: { images, annotations, categories }, dt };
}

test('classwise AP equals a COCOeval restricted to each category; no ground truth -> nan; table printed after the summary', () => {
  const { gt, dt } = fixture();
  const coco = new COCO(structuredClone(gt));
  const { classwise, table, metrics } = evaluateCocoBbox(coco, dt, coco.getImgIds());
  expect(classwise.map((c) => c.name)).toEqual(['cat', 'dog', 'kite']);
  for (const c of classwise.slice(0, 2)) {
    const one = new COCOeval(coco, coco.loadRes(dt), 'bbox');
    one.params.catIds = [c.catId];
    one.evaluate();
    one.accumulate();
    const stats = one.summarize(() => undefined);
    expect(c.ap).toBe(stats[0]);
    expect(c.ap).toBeGreaterThan(0);
  }
  expect(classwise[2].ap).toBeNaN();
  // The mean over categories with ground truth is the summary's mAP up to summation order.
  expect((classwise[0].ap + classwise[1].ap) / 2).toBeCloseTo(metrics.bbox_mAP, 12);
  expect(table).toMatch(/per-category bbox AP@\[\.50:\.95\]:/);
  expect(table).toContain(`| cat      | ${classwise[0].ap.toFixed(3)} |`);
  expect(table).toContain('| kite     | nan   |');
  expect(formatClasswiseTable(classwise).split('\n')[1]).toBe('| category | AP    | category | AP    | category | AP    |');
});

test('confusion matrix: mmdet counting on a hand-made image', () => {
  // gt: A at (0,0,10,10), B at (20,0,30,10), A at (40,0,50,10)
  const gt = { bboxes: [0, 0, 10, 10, 20, 0, 30, 10, 40, 0, 50, 10], labels: [0, 1, 0] };
  const det = {
    bboxes: [
      0, 0, 10, 10, // A on A: TP
      0, 0, 10, 9.5, // A on A again, score high: counted again on [A][A]
      20, 0, 30, 10, // A on B: confusion [B][A]
      60, 0, 70, 10, // B on nothing: background FP
      40, 0, 50, 10, // A on the 2nd A but score below threshold: ignored
    ],
    labels: [0, 0, 0, 1, 0],
    scores: [0.9, 0.8, 0.7, 0.6, 0.1],
  };
  const cm = confusionMatrix(['A', 'B'], [{ gt, det }], { scoreThr: 0.3, tpIouThr: 0.5 });
  expect(cm.labels).toEqual(['A', 'B', 'background']);
  expect(cm.counts).toEqual([
    [2, 0, 1], // A: matched twice by A detections; the 2nd A GT missed
    [1, 0, 1], // B: claimed by an A detection, never by a B one -> also missed
    [0, 1, 0], // background: one B detection on nothing
  ]);
  // Per-class NMS at 0.5 removes the duplicate A detection.
  expect(confusionMatrix(['A', 'B'], [{ gt, det }], { scoreThr: 0.3, nmsIouThr: 0.5 }).counts[0]).toEqual([1, 0, 1]);
  // Lower score threshold: the low-score A now finds the 2nd A.
  expect(confusionMatrix(['A', 'B'], [{ gt, det }], { scoreThr: 0.05 }).counts[0]).toEqual([3, 0, 0]);
  expect(normalizeRows(cm.counts)[1]).toEqual([50, 0, 50]);
  expect(() => confusionMatrix(['A'], [{ gt, det }])).toThrow(/label 1 outside 0\.\.0/);
});

test('confusion matrix on COCO results: column sums count detections, the background column counts missed ground truth', () => {
  const { gt, dt } = fixture();
  const coco = new COCO(structuredClone(gt));
  const catIds = [1, 3, 7];
  const ds = { coco, catIds, imgIds: coco.getImgIds(), classes: ['cat', 'dog', 'kite'] };
  const scoreThr = 0.3, tpIouThr = 0.5;
  const cm = cocoConfusionMatrix(ds, dt, { scoreThr, tpIouThr });
  // Independent count: per detection max(1, #overlapping non-crowd GT), per GT whether a same-class detection overlaps.
  const iou = (a: number[], b: number[]) => {
    const w = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
    const h = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
    return (w * h) / (a[2] * a[3] + b[2] * b[3] - w * h);
  };
  const gts = gt.annotations!.filter((a) => !a.iscrowd);
  const colSums = [0, 0, 0, 0];
  for (const d of dt) {
    if (d.score < scoreThr) continue;
    const hits = gts.filter((g) => g.image_id === d.image_id && iou(g.bbox!, d.bbox!) >= tpIouThr).length;
    colSums[catIds.indexOf(d.category_id)] += Math.max(1, hits);
  }
  const missed = [0, 0, 0];
  for (const g of gts) {
    const found = dt.some((d) => d.score >= scoreThr && d.image_id === g.image_id && d.category_id === g.category_id && iou(g.bbox!, d.bbox!) >= tpIouThr);
    if (!found) missed[catIds.indexOf(g.category_id)]++;
  }
  const sums = [0, 1, 2, 3].map((j) => cm.counts.reduce((s, row) => s + row[j], 0));
  expect(sums.slice(0, 3)).toEqual(colSums.slice(0, 3));
  expect(cm.counts.slice(0, 3).map((r) => r[3])).toEqual(missed);
  expect(cm.counts[3][3]).toBe(0);
  expect(colSums[2]).toBeGreaterThan(0);
  expect(() => cocoConfusionMatrix(ds, [{ image_id: 99, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }])).toThrow(/results\[0\]: image_id 99 is not in the dataset/);
});
