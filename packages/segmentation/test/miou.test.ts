/**
 * mIoU (mmseg 0.13 semantics) against ../shared/reference/coco/miou: integer totals, per-class IoU/Acc
 * (null = NaN), aAcc, mIoU and mAcc must match exactly. Also the PNG directory evaluator and the CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluateMiou, evaluateMiouDirs, miouToJson, npNanMean, readLabelPng, writeLabelPng } from '../src/evaluation';
import { referenceDir, repoRoot as ROOT } from './helpers/paths';

const MIOU_REF = path.join(referenceDir, 'coco', 'miou');
const cases = fs.readdirSync(MIOU_REF).filter((d) => fs.existsSync(path.join(MIOU_REF, d, 'expected.json'))).sort();

interface Input {
  num_classes: number;
  ignore_index: number;
  reduce_zero_label: boolean;
  preds: number[][][];
  gts: number[][][];
}
interface Expected {
  total_area_intersect: number[];
  total_area_union: number[];
  total_area_pred_label: number[];
  total_area_label: number[];
  IoU: (number | null)[];
  Acc: (number | null)[];
  aAcc: number;
  mIoU: number;
  mAcc: number;
}
const load = <T>(c: string, f: string): T => JSON.parse(fs.readFileSync(path.join(MIOU_REF, c, f), 'utf8')) as T;
const flat = (m: number[][]): Uint8Array => Uint8Array.from(m.flat());

test('reference cases exist', () => expect(cases.length).toBeGreaterThanOrEqual(2));

describe.each(cases)('%s', (c) => {
  const input = load<Input>(c, 'input.json');
  const exp = load<Expected>(c, 'expected.json');
  const opts = { numClasses: input.num_classes, ignoreIndex: input.ignore_index, reduceZeroLabel: input.reduce_zero_label };

  test('totals, per-class and mean metrics exactly', () => {
    const r = evaluateMiou(input.preds.map(flat), input.gts.map(flat), opts);
    expect(Array.from(r.totals.intersect)).toEqual(exp.total_area_intersect);
    expect(Array.from(r.totals.union)).toEqual(exp.total_area_union);
    expect(Array.from(r.totals.predLabel)).toEqual(exp.total_area_pred_label);
    expect(Array.from(r.totals.label)).toEqual(exp.total_area_label);
    const j = miouToJson(r);
    expect(j.IoU).toEqual(exp.IoU);
    expect(j.Acc).toEqual(exp.Acc);
    expect(r.aAcc).toBe(exp.aAcc);
    expect(r.mIoU).toBe(exp.mIoU);
    expect(r.mAcc).toBe(exp.mAcc);
  });

  test('PNG directories + CLI give the same numbers', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'miou-'));
    try {
      const pd = path.join(tmp, 'pred');
      const gd = path.join(tmp, 'gt');
      fs.mkdirSync(pd);
      fs.mkdirSync(gd);
      input.preds.forEach((p, i) => {
        const name = `img_${String(i).padStart(3, '0')}.png`;
        writeLabelPng(path.join(pd, name), { height: p.length, width: p[0].length, data: flat(p) });
        const g = input.gts[i];
        writeLabelPng(path.join(gd, name), { height: g.length, width: g[0].length, data: flat(g) });
      });
      const back = readLabelPng(path.join(gd, 'img_000.png'));
      expect(Array.from(back.data)).toEqual(input.gts[0].flat());
      const r = evaluateMiouDirs(pd, gd, opts);
      expect(r.mIoU).toBe(exp.mIoU);
      const args = ['tools/eval-miou.ts', '--pred', pd, '--gt', gd, '--num-classes', String(input.num_classes), '--json'];
      if (input.reduce_zero_label) args.push('--reduce-zero-label');
      const out = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ aAcc: exp.aAcc, mIoU: exp.mIoU, mAcc: exp.mAcc, IoU: exp.IoU, Acc: exp.Acc });
      // A GT without a prediction is an input error naming the file.
      fs.rmSync(path.join(pd, 'img_001.png'));
      const bad = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/no prediction for 1 GT file.*img_001\.png/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

test('semantics: out-of-range predictions, ignore pixels, reduce_zero_label, NaN classes', () => {
  // 3 classes; GT row-major; pred 7 is out of range (counts in no histogram but the GT pixel still counts).
  const gt = Uint8Array.from([0, 1, 1, 255, 2, 0]);
  const pred = Uint8Array.from([0, 1, 7, 2, 1, 1]);
  const r = evaluateMiou([pred], [gt], { numClasses: 4 });
  expect(Array.from(r.totals.intersect)).toEqual([1, 1, 0, 0]);
  expect(Array.from(r.totals.label)).toEqual([2, 2, 1, 0]);
  expect(Array.from(r.totals.predLabel)).toEqual([1, 3, 0, 0]);
  expect(Number.isNaN(r.IoU[3])).toBe(true);
  expect(r.Acc[2]).toBe(0);
  expect(r.aAcc).toBe(2 / 5);
  // reduce_zero_label: raw 0 and 255 are ignored, others shift down by one.
  const rz = evaluateMiou([Uint8Array.from([0, 0, 1, 9])], [Uint8Array.from([0, 1, 2, 255])], { numClasses: 2, reduceZeroLabel: true });
  expect(Array.from(rz.totals.label)).toEqual([1, 1]);
  expect(Array.from(rz.totals.intersect)).toEqual([1, 1]);
});

test('nanmean uses numpy pairwise summation', () => {
  // np.nanmean reference value (numpy); a left-to-right sum gives ...738.
  const v = Array.from({ length: 150 }, (_, i) => (i % 7 === 0 ? NaN : 1 / (i + 3)));
  expect(npNanMean(v)).toBe(0.02597877073025739);
  // Above 8192 elements numpy 1.24 (the reference's version) sums 8192-blocks one after another
  // (...756); numpy >= 2.3 would pair-sum the whole array (...767).
  const w = Array.from({ length: 20000 }, (_, i) => 1 / (i + 3));
  expect(npNanMean(w)).toBe(0.00044904141048649756);
  expect(Number.isNaN(npNanMean([NaN, NaN]))).toBe(true);
});

test('palette PNGs are read as palette indices', () => {
  // Hand-built 3x2 palette PNG (pngjs cannot write one): indices 0..5, palette colours unrelated to indices.
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(3, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8;
  ihdr[9] = 3;
  const plte = Buffer.from([10, 20, 30, 200, 0, 0, 0, 200, 0, 0, 0, 200, 5, 5, 5, 9, 9, 9]);
  const raw = Buffer.from([0, 5, 1, 2, 0, 3, 4, 0]);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', plte),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pal-'));
  try {
    fs.writeFileSync(path.join(tmp, 'p.png'), png);
    const m = readLabelPng(path.join(tmp, 'p.png'));
    expect([m.width, m.height]).toEqual([3, 2]);
    expect(Array.from(m.data)).toEqual([5, 1, 2, 3, 4, 0]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
