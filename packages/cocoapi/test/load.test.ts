import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COCO, COCOeval, readCocoFile, type CocoLoadInfo } from '../src';
import { COCO_REF } from './reference';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coco-load-'));

function roundTrip(text: string): { lazy: unknown; plain: unknown; info: Partial<CocoLoadInfo> } {
  const f = path.join(tmp, `f${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(f, text);
  const info: Partial<CocoLoadInfo> = {};
  const lazy = readCocoFile(f, info);
  return { lazy, plain: JSON.parse(text), info };
}

/** Deep equality that reads every property (so lazy segmentations are materialised and compared). */
const same = (a: unknown, b: unknown): void => expect(structuredClone(a)).toEqual(b);

test('lazy segmentations: same values as JSON.parse for polygons, RLE (list and string counts), empty, odd spacing, unicode, escapes', () => {
  const text = `{ "info" : {"d": "é\\"}\\u00e9"}, "images":[{"id":1,"width":10,"height":8,"file_name":"a\\\\b ü.jpg"}],
    "annotations" : [
      {"segmentation": [[1.5, 2.25e0, 3, 4 , 5,6]] , "id": 1, "image_id": 1, "category_id": 2, "bbox": [0,0,1,1], "area": 1.0},
      {"id": 2, "image_id": 1, "category_id": 2, "segmentation":{"counts":[0,3,77],"size":[8,10]}, "iscrowd": 1},
      {"id": 3, "image_id": 1, "category_id": 2, "segmentation": {"size": [8, 10], "counts": "0Q1\\\\a0"}},
      {"id": 4, "image_id": 1, "category_id": 2, "segmentation": []},
      {"id": 5, "image_id": 1, "category_id": 2},
      {"id": 6, "image_id": 1, "category_id": 2, "segmentation": [[0.1,0.2,0.30000000000000004,1e-7,-0,12345678901234567890]], "x": {"segmentation": 1}}
    ],
    "categories": [{"id": 2, "name": "ñame"}] }`;
  const { lazy, plain, info } = roundTrip(text);
  expect(info).toMatchObject({ method: 'lazy-segmentation', lazySegmentations: 5 });
  same(lazy, plain);
  const anns = (lazy as { annotations: Record<string, unknown>[] }).annotations;
  expect(Object.is((anns[5].segmentation as number[][])[0][4], -0)).toBe(true);
  expect('segmentation' in anns[4]).toBe(false);
  anns[0].segmentation = [[9, 9, 9, 9, 9, 9]];
  expect(anns[0].segmentation).toEqual([[9, 9, 9, 9, 9, 9]]);
});

test('files the scan does not handle fall back to JSON.parse; invalid JSON names the file; a broken segmentation names the annotation', () => {
  expect(roundTrip('[1, 2]').info.method).toBe('json-parse');
  expect(roundTrip('{"images": []}').info.method).toBe('json-parse');
  const f = path.join(tmp, 'broken.json');
  fs.writeFileSync(f, '{"annotations": [{"id": 1, "segmentation": [[1, 2,]]]}');
  expect(() => readCocoFile(f)).toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid JSON`));
  fs.writeFileSync(f, '{"annotations": [{"id": 7, "segmentation": [[1, 2,, 3]]}]}');
  const ds = readCocoFile(f) as { annotations: { segmentation: unknown }[] };
  expect(() => ds.annotations[0].segmentation).toThrow(/broken\.json: annotation id 7: invalid JSON in 'segmentation'/);
});

test('every reference ground truth loads to the same dataset and the same segm evaluation as JSON.parse', () => {
  const dir = COCO_REF;
  const cases = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'gt.json')) && fs.existsSync(path.join(dir, d, 'dt_segm.json')));
  expect(cases.length).toBeGreaterThan(0);
  for (const c of cases) {
    const file = path.join(dir, c, 'gt.json');
    const text = fs.readFileSync(file, 'utf8');
    same(readCocoFile(file), JSON.parse(text));
    const stats = (gt: COCO) => {
      const E = new COCOeval(gt, gt.loadRes(path.join(dir, c, 'dt_segm.json')), 'segm');
      E.evaluate();
      E.accumulate();
      return E.summarize(null);
    };
    expect(stats(new COCO(file))).toEqual(stats(new COCO(JSON.parse(text))));
  }
});
