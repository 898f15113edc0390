/** Every entry of the reference maskapi.json files (real pycocotools output) must be reproduced exactly. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  area,
  decode,
  encode,
  frBbox,
  frPyObjects,
  iou,
  maskFromRows,
  maskToRows,
  merge,
  toBbox,
  type RleObject,
  type UncompressedRle,
} from '../src';
import { COCO_REF, readJson } from './reference';

interface MaskApiRef {
  encode: { mask: number[][]; rle: RleObject; uncompressed_counts: number[]; area: number; toBbox: number[] }[];
  frPyObjects_poly: {
    polygons: number[][];
    h: number;
    w: number;
    rles: RleObject[];
    masks: number[][][];
    merged: RleObject;
    merged_area: number;
    merged_toBbox: number[];
  }[];
  frPyObjects_uncompressed: { uncompressed: UncompressedRle; rle: RleObject; area: number; mask: number[][] }[];
  frBbox: { bbox: number[]; h: number; w: number; rle: RleObject; area: number; mask: number[][] }[];
  merge: { rles: RleObject[]; intersect: number; result: RleObject; area: number }[];
  iou_rle: { dt: RleObject[]; gt: RleObject[]; iscrowd: number[]; iou: number[][] }[];
  iou_bbox: { dt: number[][]; gt: number[][]; iscrowd: number[]; iou: number[][] }[];
  toBbox_zero_length_runs: { uncompressed: UncompressedRle; rle: RleObject; toBbox: number[]; mask: number[][] }[];
}

const cases = fs.readdirSync(COCO_REF).filter((d) => fs.existsSync(path.join(COCO_REF, d, 'maskapi.json')));

test('maskapi reference files are present', () => {
  expect(cases.length).toBeGreaterThanOrEqual(2);
});

describe.each(cases)('maskapi %s', (c) => {
  const ref = readJson<MaskApiRef>(c, 'maskapi.json');

  test('encode / area / toBbox / decode', () => {
    for (const e of ref.encode) {
      const m = maskFromRows(e.mask);
      const rle = encode(m);
      expect(rle).toEqual(e.rle);
      const dec = decode({ size: e.rle.size, counts: e.uncompressed_counts });
      expect(maskToRows(dec)).toEqual(e.mask);
      expect(maskToRows(decode(rle))).toEqual(e.mask);
      expect(area(rle)).toBe(e.area);
      expect(toBbox(rle)).toEqual(e.toBbox);
    }
  });

  test('frPyObjects polygons (C truncation), merge, area, toBbox', () => {
    for (const e of ref.frPyObjects_poly) {
      const rles = frPyObjects(e.polygons, e.h, e.w);
      expect(rles).toEqual(e.rles);
      expect(rles.map((r) => maskToRows(decode(r)))).toEqual(e.masks);
      const merged = merge(rles);
      expect(merged).toEqual(e.merged);
      expect(area(merged)).toBe(e.merged_area);
      expect(toBbox(merged)).toEqual(e.merged_toBbox);
    }
  });

  test('frPyObjects uncompressed RLE', () => {
    for (const e of ref.frPyObjects_uncompressed) {
      const rle = frPyObjects(e.uncompressed, 0, 0);
      expect(rle).toEqual(e.rle);
      expect(frPyObjects([e.uncompressed], 0, 0)).toEqual([e.rle]);
      expect(area(rle)).toBe(e.area);
      expect(maskToRows(decode(rle))).toEqual(e.mask);
    }
  });

  test('frBbox', () => {
    for (const e of ref.frBbox) {
      const [rle] = frBbox([e.bbox], e.h, e.w);
      expect(rle).toEqual(e.rle);
      expect(frPyObjects(e.bbox, e.h, e.w)).toEqual(e.rle);
      expect(area(rle)).toBe(e.area);
      expect(maskToRows(decode(rle))).toEqual(e.mask);
    }
  });

  test('merge union / intersection', () => {
    for (const e of ref.merge) {
      const r = merge(e.rles, e.intersect !== 0);
      expect(r).toEqual(e.result);
      expect(area(r)).toBe(e.area);
    }
  });

  test('iou on RLEs and boxes with crowd flags', () => {
    for (const e of ref.iou_rle) expect(iou(e.dt, e.gt, e.iscrowd)).toEqual(e.iou);
    for (const e of ref.iou_bbox) expect(iou(e.dt, e.gt, e.iscrowd)).toEqual(e.iou);
  });

  test('toBbox with zero-length runs follows the original maskApi.c', () => {
    for (const e of ref.toBbox_zero_length_runs) {
      const rle = frPyObjects(e.uncompressed, 0, 0);
      expect(rle).toEqual(e.rle);
      expect(toBbox(rle)).toEqual(e.toBbox);
      expect(maskToRows(decode(rle))).toEqual(e.mask);
    }
  });
});
