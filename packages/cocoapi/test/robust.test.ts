/**
 * Ground truth and results that pycocotools accepts without a word: duplicate annotation ids, bare NaN scores,
 * string image ids. Expected stats come from pycocotools itself (fixtures/make_robust_cases.py); the checks
 * that report invalid ground truth (fixtures built here) must name counts and ids.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COCO, type CocoDataset } from '../src/coco';
import { COCOeval } from '../src/cocoeval';
import { cocoEvalMain } from '../src/cli';
import { cleanAnnotations, describeGtProblem, findGtProblems } from '../src/validate';
import { parsePythonJson } from '../src/python-json';
import { COCO_REF } from './reference';

const FIX = path.join(__dirname, 'fixtures', 'robust');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as Record<string, (number | null)[]>;
const REF = path.join(COCO_REF, 'p02_mixed');

function stats(gtFile: string, dtFile: string, iouType: 'bbox' | 'segm'): (number | null)[] {
  const gt = new COCO(gtFile);
  const E = new COCOeval(gt, gt.loadRes(dtFile), iouType);
  E.evaluate();
  E.accumulate();
  return E.summarize(null).map((v) => (Number.isNaN(v) ? null : v));
}

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = cocoEvalMain(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coco-robust-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(['bbox', 'segm'] as const)('as pycocotools (%s)', (t) => {
  test('duplicate annotation ids: the last annotation of each id, in its own image and category', () => {
    expect(stats(path.join(FIX, 'dup_gt.json'), path.join(REF, `dt_${t}.json`), t)).toEqual(expected[`dup/${t}`]);
  });
  test('bare NaN scores are read and sorted last', () => {
    expect(() => JSON.parse(fs.readFileSync(path.join(FIX, `nan_dt_${t}.json`), 'utf8'))).toThrow();
    expect(stats(path.join(REF, 'gt.json'), path.join(FIX, `nan_dt_${t}.json`), t)).toEqual(expected[`nan/${t}`]);
  });
  test('string image ids (sorted as Python sorts strings)', () => {
    expect(stats(path.join(FIX, 'strids_gt.json'), path.join(FIX, `strids_dt_${t}.json`), t)).toEqual(expected[`strids/${t}`]);
  });
  test('plain case (control)', () => {
    expect(stats(path.join(REF, 'gt.json'), path.join(REF, `dt_${t}.json`), t)).toEqual(expected[`plain/${t}`]);
  });
});

test('parsePythonJson: bare constants outside strings only', () => {
  const r = parsePythonJson('[{"score": NaN, "s": "NaN Infinity", "b": [-Infinity, Infinity]}]');
  expect(r.ok).toBe(true);
  const v = (r as { value: { score: number; s: string; b: number[] }[] }).value[0];
  expect(Number.isNaN(v.score)).toBe(true);
  expect(v.s).toBe('NaN Infinity');
  expect(v.b).toEqual([-Infinity, Infinity]);
  expect(parsePythonJson('[1, 2').ok).toBe(false);
  expect(parsePythonJson('[NaNa]').ok).toBe(false);
});

function badGt(): CocoDataset {
  const gt = JSON.parse(fs.readFileSync(path.join(REF, 'gt.json'), 'utf8')) as CocoDataset;
  const anns = gt.annotations!;
  anns[1].bbox = [10, 10, -5, 20]; // negative width (id 2)
  anns[4].bbox = [10, 10, 30, 0]; // zero height (id 5)
  anns[5].category_id = 4242; // unknown category (id 6)
  anns[8].image_id = 999999; // unknown image (id 9)
  anns[11].id = 10; // duplicate of id 10
  return gt;
}

test('findGtProblems: counts and example ids of each kind; a clean file has none', () => {
  expect(findGtProblems(new COCO(path.join(REF, 'gt.json')))).toEqual([]);
  const problems = findGtProblems(new COCO(badGt()));
  expect(problems).toEqual([
    { kind: 'duplicate_ann_id', count: 1, examples: [10] },
    { kind: 'nonpositive_box', count: 2, examples: [2, 5] },
    { kind: 'unknown_category', count: 1, examples: [6] },
    { kind: 'unknown_image', count: 1, examples: [9] },
  ]);
  expect(describeGtProblem(problems[1])).toBe('2 annotation(s) with a bbox width or height <= 0 (ids 2, 5)');
  const { kept, dropped } = cleanAnnotations(new COCO(badGt()));
  expect(dropped).toBe(5);
  expect(kept.map((a) => a.id)).not.toContain(2);
  expect(new Set(kept.map((a) => a.id)).size).toBe(kept.length);
});

test('coco-eval: duplicates are an error unless --allow-duplicate-ids; the rest are warnings with counts and ids', () => {
  const gt = badGt();
  const gtFile = path.join(tmp, 'bad_gt.json');
  fs.writeFileSync(gtFile, JSON.stringify(gt));
  const dt = path.join(REF, 'dt_bbox.json');
  const r = run(['--gt', gtFile, '--dt', dt, '--iou-type', 'bbox', '--json']);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/bad_gt\.json: 1 annotation id\(s\) used by more than one annotation \(ids 10\).*--allow-duplicate-ids/);

  const ok = run(['--gt', gtFile, '--dt', dt, '--iou-type', 'bbox', '--json', '--allow-duplicate-ids']);
  expect(ok.code).toBe(0);
  const warnings = ok.err.trim().split('\n');
  expect(warnings).toEqual([
    expect.stringMatching(/^coco-eval: warning: .*1 annotation id\(s\) used by more than one annotation \(ids 10\)/),
    expect.stringMatching(/^coco-eval: warning: .*2 annotation\(s\) with a bbox width or height <= 0 \(ids 2, 5\)$/),
    expect.stringMatching(/^coco-eval: warning: .*1 annotation\(s\) of a category_id not in 'categories' \(ids 6\)$/),
    expect.stringMatching(/^coco-eval: warning: .*1 annotation\(s\) of an image_id not in 'images' \(ids 9\)$/),
  ]);
  // the numbers are still pycocotools' on that file
  expect(JSON.parse(ok.out).stats).toEqual(stats(gtFile, dt, 'bbox'));
  expect(run(['--help']).out).toMatch(/--allow-duplicate-ids/);
});

test('image ids mixing numbers and strings are refused, as Python cannot sort them', () => {
  const gt = JSON.parse(fs.readFileSync(path.join(REF, 'gt.json'), 'utf8')) as CocoDataset;
  gt.images![0].id = String(gt.images![0].id);
  const coco = new COCO(gt);
  expect(() => new COCOeval(coco, coco.loadRes([]), 'bbox')).toThrow(/image ids mix numbers and strings/);
});
