/** coco-eval CLI: JSON output against the reference, and input errors reported with ids and exit code 2. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cocoEvalMain } from '../src/cli';
import { COCO_REF, readJson, repoRoot } from './reference';

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = cocoEvalMain(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coco-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function writeJson(name: string, v: unknown): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, JSON.stringify(v));
  return f;
}

const CASE = 'p02_mixed';
const gtFile = path.join(COCO_REF, CASE, 'gt.json');
const expected = readJson<Record<'bbox' | 'segm', { stats: number[]; per_category: Record<string, number[]>; summary_text: string[] }>>(
  CASE,
  'expected.json',
);

test.each(['bbox', 'segm'] as const)('--json prints stats and per-category results (%s)', (iouType) => {
  const r = run(['--gt', gtFile, '--dt', path.join(COCO_REF, CASE, `dt_${iouType}.json`), '--iou-type', iouType, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out) as { stats: number[]; per_category: Record<string, number[]> };
  expect(j.stats).toEqual(expected[iouType].stats);
  expect(j.per_category).toEqual(expected[iouType].per_category);
});

test('summary table without --json', () => {
  const r = run([`--gt=${gtFile}`, `--dt=${path.join(COCO_REF, CASE, 'dt_bbox.json')}`, '--iou-type=bbox']);
  expect(r.code).toBe(0);
  expect(r.out.trimEnd().split('\n')).toEqual(expected.bbox.summary_text);
});

describe('input errors', () => {
  const gt = readJson<{ images: { id: number }[]; annotations: Record<string, unknown>[] }>(CASE, 'gt.json');
  const dets = readJson<Record<string, unknown>[]>(CASE, 'dt_segm.json');

  test('bad arguments', () => {
    expect(run(['--gt', gtFile]).code).toBe(2);
    const r = run(['--gt', gtFile, '--dt', 'x.json', '--iou-type', 'keypoints']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--iou-type must be bbox or segm/);
    expect(run(['--gt', path.join(tmp, 'missing.json'), '--dt', 'x', '--iou-type', 'bbox']).err).toMatch(/cannot read/);
  });

  test('image id absent from the GT', () => {
    const bad = dets.map((d, i) => (i === 3 ? { ...d, image_id: 123456 } : d));
    const r = run(['--gt', gtFile, '--dt', writeJson('bad_img.json', bad), '--iou-type', 'segm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/result 4 \(image_id 123456.*image_id 123456 is not an image of the ground truth/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test('missing score / bbox fields', () => {
    const noScore = dets.map((d, i) => (i === 1 ? { ...d, score: undefined } : d));
    let r = run(['--gt', gtFile, '--dt', writeJson('no_score.json', noScore), '--iou-type', 'segm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/result 2 .*'score' must be a number/);
    const boxes = readJson<Record<string, unknown>[]>(CASE, 'dt_bbox.json');
    const noBox = boxes.map((d, i) => (i === 5 ? { ...d, bbox: undefined } : d));
    r = run(['--gt', gtFile, '--dt', writeJson('no_bbox.json', noBox), '--iou-type', 'bbox']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/result 6 .*'bbox' must be \[x, y, w, h\]/);
  });

  test('malformed segmentation', () => {
    const seg = dets[2].segmentation as { size: number[]; counts: string };
    const bad = dets.map((d, i) => (i === 2 ? { ...d, segmentation: { size: seg.size, counts: seg.counts.slice(0, -2) } } : d));
    const r = run(['--gt', gtFile, '--dt', writeJson('bad_seg.json', bad), '--iou-type', 'segm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/result 3 \(image_id \d+, category_id \d+\): segmentation/);
  });

  test('GT annotation without area / with a broken polygon', () => {
    const target = gt.annotations[0];
    const noArea = { ...gt, annotations: gt.annotations.map((a) => (a === target ? { ...a, area: undefined } : a)) };
    let r = run(['--gt', writeJson('gt_noarea.json', noArea), '--dt', path.join(COCO_REF, CASE, 'dt_bbox.json'), '--iou-type', 'bbox']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`annotation id ${String(target.id)}: 'area' must be a number`));
    const badPoly = { ...gt, annotations: gt.annotations.map((a) => (a === target ? { ...a, segmentation: [[1, 2, 'x', 4, 5, 6]] } : a)) };
    r = run(['--gt', writeJson('gt_badpoly.json', badPoly), '--dt', path.join(COCO_REF, CASE, 'dt_segm.json'), '--iou-type', 'segm']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`annotation id ${String(target.id)}: segmentation\\[0\\] must be a list of numbers`));
  });
});

test('the bin runs from the repo root (tsx loader)', () => {
  const root = repoRoot();
  const bin = path.join(root, 'packages/cocoapi/bin/coco-eval.mjs');
  const ok = spawnSync(process.execPath, [bin, '--gt', gtFile, '--dt', path.join(COCO_REF, CASE, 'dt_bbox.json'), '--iou-type', 'bbox', '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(ok.stderr).toBe('');
  expect(ok.status).toBe(0);
  expect((JSON.parse(ok.stdout) as { stats: number[] }).stats).toEqual(expected.bbox.stats);
  const bad = spawnSync(process.execPath, [bin, '--gt', gtFile, '--dt', writeJson('bad2.json', [{ image_id: -7, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]), '--iou-type', 'bbox'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/image_id -7 is not an image of the ground truth/);
  expect(bad.stderr).not.toMatch(/\n\s+at /);
});
