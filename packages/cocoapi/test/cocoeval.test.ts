/**
 * Every public reference case (real pycocotools 8c9bcc3 output) must be reproduced: the 12 stats,
 * per-category stats, the recall array, summary lines, and the debug intermediates (IoU matrices, per-image
 * matches, precision and score arrays).
 */
import { COCO, COCOeval, Params, sortImageIds, type CocoResult, type IouType } from '../src';
import { cocoCases, readJson } from './reference';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COCO_REF } from './reference';

interface Expected {
  params: { iouThrs: number[]; recThrs: number[]; maxDets: number[]; areaRng: number[][]; imgIds: number[]; catIds: number[] };
  bbox: ExpectedType;
  segm: ExpectedType;
}
interface ExpectedType {
  stats: number[];
  per_category: Record<string, number[]>;
  recall: number[][][][];
  summary_text: string[];
}
interface EvalImgRef {
  image_id: number;
  category_id: number;
  dtIds: number[];
  gtIds: number[];
  dtScores: number[];
  dtMatches: number[][];
  gtMatches: number[][];
  dtIgnore: number[][];
  gtIgnore: number[];
}
interface DebugType {
  precision_all_maxdet100: number[][][];
  scores_all_maxdet100: number[][][];
  ious: { image_id: number; category_id: number; iou: number[][] }[];
  evalImgs_area_all: EvalImgRef[];
}

const TOL = 1e-12;

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    if (Math.abs(v - expected[i]) > TOL) throw new Error(`${what}[${i}]: got ${v}, expected ${expected[i]}`);
  });
}

test('default params equal numpy linspace thresholds bit for bit', () => {
  const exp = readJson<Expected>('p01_small', 'expected.json');
  const p = new Params('bbox');
  expect(p.iouThrs).toEqual(exp.params.iouThrs);
  expect(p.recThrs).toEqual(exp.params.recThrs);
  expect(p.maxDets).toEqual(exp.params.maxDets);
  expect(p.areaRng).toEqual(exp.params.areaRng);
  expect(p.iouThrs[8]).toBe(0.8999999999999999);
  expect(p.recThrs[35]).toBe(0.35000000000000003);
});

describe.each(cocoCases())('%s', (c) => {
  const exp = readJson<Expected>(c, 'expected.json');
  const debug = readJson<Record<IouType, DebugType>>(c, 'debug.json');
  const gt = new COCO(path.join(COCO_REF, c, 'gt.json'));

  describe.each(['bbox', 'segm'] as IouType[])('%s', (iouType) => {
    const dts = readJson<CocoResult[]>(c, `dt_${iouType}.json`);
    const E = new COCOeval(gt, gt.loadRes(dts), iouType);
    E.evaluate();
    E.accumulate();
    const lines: string[] = [];
    const stats = E.summarize((l) => lines.push(l));
    const ref = exp[iouType];
    const ev = E.eval!;
    const [T, R, K, A, M] = ev.counts;

    test('params after evaluate', () => {
      expect(E.params.imgIds).toEqual(exp.params.imgIds);
      expect(E.params.catIds).toEqual(exp.params.catIds);
    });

    test('12 stats (within 1e-12, and exactly)', () => {
      expectClose(stats, ref.stats, 'stats');
      expect(stats).toEqual(ref.stats);
    });

    test('per-category stats', () => {
      const per = E.perCategoryStats();
      expect([...per.keys()].map(String).sort()).toEqual(Object.keys(ref.per_category).sort());
      for (const [catId, v] of per) {
        expectClose(v, ref.per_category[String(catId)], `per_category[${catId}]`);
        expect(v).toEqual(ref.per_category[String(catId)]);
      }
    });

    test('recall array', () => {
      const got = Array.from({ length: T }, (_, t) =>
        Array.from({ length: K }, (_, k) =>
          Array.from({ length: A }, (_, a) => Array.from({ length: M }, (_, m) => ev.recall[((t * K + k) * A + a) * M + m])),
        ),
      );
      expect(got).toEqual(ref.recall);
    });

    test('summary lines', () => {
      expect(lines).toEqual(ref.summary_text);
      expect(E.summaryLines).toEqual(ref.summary_text);
    });

    test('precision and scores at area all, maxDets 100', () => {
      const d = debug[iouType];
      const m = M - 1;
      const pick = (arr: Float64Array) =>
        Array.from({ length: T }, (_, t) =>
          Array.from({ length: R }, (_, r) => Array.from({ length: K }, (_, k) => arr[(((t * R + r) * K + k) * A + 0) * M + m])),
        );
      expect(pick(ev.precision)).toEqual(d.precision_all_maxdet100);
      expect(pick(ev.scores)).toEqual(d.scores_all_maxdet100);
    });

    test('IoU matrices', () => {
      for (const e of debug[iouType].ious) expect(E.computeIoU(e.image_id, e.category_id)).toEqual(e.iou);
    });

    test('per-image matching (area all)', () => {
      for (const e of debug[iouType].evalImgs_area_all) {
        const got = E.evaluateImg(e.image_id, e.category_id, E.params.areaRng[0], 100)!;
        expect(got).not.toBeNull();
        expect({
          dtIds: got.dtIds,
          gtIds: got.gtIds,
          dtScores: got.dtScores,
          dtMatches: got.dtMatches,
          gtMatches: got.gtMatches,
          dtIgnore: got.dtIgnore,
          gtIgnore: got.gtIgnore,
        }).toEqual({
          dtIds: e.dtIds,
          gtIds: e.gtIds,
          dtScores: e.dtScores,
          dtMatches: e.dtMatches,
          gtMatches: e.gtMatches,
          dtIgnore: e.dtIgnore,
          gtIgnore: e.gtIgnore,
        });
      }
    });
  });
});

describe('non-default params agree with pycocotools', () => {
  // Stats produced by the real pycocotools for useCats=0 and for an image subset with custom area ranges.
  const ref = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/param_variants.json'), 'utf8')) as { stats: Record<string, number[]> };
  const keys = Object.keys(ref.stats);
  test('fixture present', () => expect(keys.length).toBe(12));
  test.each(keys)('%s', (key) => {
    const [c, iouType, variant] = key.split('/') as [string, IouType, string];
    const gt = new COCO(path.join(COCO_REF, c, 'gt.json'));
    const E = new COCOeval(gt, gt.loadRes(path.join(COCO_REF, c, `dt_${iouType}.json`)), iouType);
    if (variant === 'nocats') E.params.useCats = 0;
    else {
      E.params.imgIds = sortImageIds(gt.getImgIds()).filter((_, i) => i % 2 === 0);
      E.params.areaRng = [
        [0, 1e10],
        [0, 2000],
        [2000, 5000],
        [5000, 1e10],
      ];
    }
    E.evaluate();
    E.accumulate();
    expect(E.summarize(null)).toEqual(ref.stats[key]);
  });
});
