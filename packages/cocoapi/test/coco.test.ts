/** COCO index queries (pycocotools filter semantics), loadRes, annToRLE against the reference. */
import * as path from 'node:path';
import { COCO, CocoFormatError, area, toBbox, decode, maskToRows, npMean, pyFixed, type CocoDataset, type Segmentation } from '../src';
import { COCO_REF, readJson } from './reference';

const tiny: CocoDataset = {
  images: [
    { id: 3, width: 10, height: 8 },
    { id: 1, width: 10, height: 8 },
    { id: 2, width: 10, height: 8 },
  ],
  categories: [
    { id: 5, name: 'dog', supercategory: 'animal' },
    { id: 4, name: 'car', supercategory: 'vehicle' },
  ],
  annotations: [
    { id: 10, image_id: 1, category_id: 5, area: 20, iscrowd: 0, bbox: [0, 0, 4, 5] },
    { id: 11, image_id: 3, category_id: 4, area: 50, iscrowd: 1, bbox: [1, 1, 5, 10] },
    { id: 12, image_id: 1, category_id: 4, area: 30, iscrowd: 0, bbox: [2, 2, 5, 6] },
    { id: 13, image_id: 2, category_id: 5, area: 10, iscrowd: 0, bbox: [0, 0, 2, 5] },
  ],
};

describe('COCO index', () => {
  const coco = new COCO(tiny);

  test('getAnnIds filters like pycocotools', () => {
    expect(coco.getAnnIds()).toEqual([10, 11, 12, 13]);
    expect(coco.getAnnIds({ imgIds: [3, 1] })).toEqual([11, 10, 12]);
    expect(coco.getAnnIds({ imgIds: 1, catIds: 4 })).toEqual([12]);
    expect(coco.getAnnIds({ catIds: [5] })).toEqual([10, 13]);
    // area range is exclusive at both ends
    expect(coco.getAnnIds({ areaRng: [10, 50] })).toEqual([10, 12]);
    expect(coco.getAnnIds({ iscrowd: true })).toEqual([11]);
    expect(coco.getAnnIds({ iscrowd: 0 })).toEqual([10, 12, 13]);
    expect(coco.getAnnIds({ imgIds: [99] })).toEqual([]);
  });

  test('getCatIds / getImgIds', () => {
    expect(coco.getCatIds()).toEqual([5, 4]);
    expect(coco.getCatIds({ catNms: ['car'] })).toEqual([4]);
    expect(coco.getCatIds({ supNms: 'animal' })).toEqual([5]);
    expect(coco.getCatIds({ catIds: [4, 7] })).toEqual([4]);
    expect(coco.getImgIds()).toEqual([3, 1, 2]);
    expect(coco.getImgIds({ catIds: [5] })).toEqual([1, 2]);
    expect(coco.getImgIds({ catIds: [5, 4] })).toEqual([1]);
    expect(coco.getImgIds({ imgIds: [2, 3], catIds: [5] })).toEqual([2]);
  });

  test('load* and unknown ids', () => {
    expect(coco.loadAnns([12, 10]).map((a) => a.id)).toEqual([12, 10]);
    expect(coco.loadCats(4)[0].name).toBe('car');
    expect(coco.loadImgs([2])[0].id).toBe(2);
    expect(() => coco.loadAnns(77)).toThrow(/annotation with id 77/);
  });

  test('loadRes: ids, areas, iscrowd, box polygons; input untouched', () => {
    const results = [
      { image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], score: 0.9 },
      { image_id: 2, category_id: 4, bbox: [0, 0, 2.5, 2], score: 0.5 },
    ];
    const res = coco.loadRes(results);
    expect(res.getAnnIds()).toEqual([1, 2]);
    const [a, b] = res.loadAnns([1, 2]);
    expect(a.area).toBe(12);
    expect(b.area).toBe(5);
    expect(a.iscrowd).toBe(0);
    expect(a.segmentation).toEqual([[1, 2, 1, 6, 4, 6, 4, 2]]);
    expect(results[0]).not.toHaveProperty('id');
    expect(res.getCatIds()).toEqual([5, 4]);
  });

  test('loadRes: segm results get mask area and bbox', () => {
    const seg = { size: [8, 10] as [number, number], counts: [10, 6, 64] };
    const res = coco.loadRes([{ image_id: 2, category_id: 5, segmentation: seg, score: 1 }]);
    const [a] = res.loadAnns(1);
    expect(a.area).toBe(6);
    expect(a.bbox).toEqual([1, 2, 1, 6]);
  });

  test('loadRes: errors name the result and the image id', () => {
    expect(() => coco.loadRes([{ image_id: 42, category_id: 5, bbox: [0, 0, 1, 1], score: 1 }])).toThrow(
      /result 1 .*image_id 42 is not an image/,
    );
    expect(() =>
      coco.loadRes([
        { image_id: 1, category_id: 5, bbox: [0, 0, 1, 1], score: 1 },
        { image_id: 2, category_id: 5, bbox: [0, 1], score: 1 },
      ]),
    ).toThrow(/result 2 \(image_id 2, category_id 5\): 'bbox' must be/);
    expect(() =>
      coco.loadRes([{ image_id: 2, category_id: 5, segmentation: { size: [8, 10], counts: [3, 4] }, score: 1 }]),
    ).toThrow(CocoFormatError);
    expect(() => coco.loadRes([{ image_id: 2, category_id: 5, bbox: [0, 0, 1, 1] } as never])).toThrow(/'score' must be a number/);
  });
});

describe.each(['p01_small', 'p02_mixed'])('annToRLE %s', (c) => {
  const coco = new COCO(path.join(COCO_REF, c, 'gt.json'));
  const ref = readJson<{
    gt_annToRLE: { ann_id: number; segmentation: Segmentation; rle: { size: [number, number]; counts: string }; area: number; toBbox: number[] }[];
  }>(c, 'maskapi.json');

  test('every GT annotation converts as pycocotools', () => {
    expect(ref.gt_annToRLE.length).toBeGreaterThan(0);
    for (const e of ref.gt_annToRLE) {
      const ann = coco.loadAnns(e.ann_id)[0];
      const rle = coco.annToRLE(ann);
      expect(rle).toEqual(e.rle);
      expect(area(rle)).toBe(e.area);
      expect(toBbox(rle)).toEqual(e.toBbox);
      expect(maskToRows(coco.annToMask(ann))).toEqual(maskToRows(decode(e.rle)));
    }
  });
});

test('pyFixed rounds exact ties half to even like Python', () => {
  expect(pyFixed(0.0625, 3)).toBe('0.062');
  expect(pyFixed(0.1875, 3)).toBe('0.188');
  expect(pyFixed(0.125, 2)).toBe('0.12');
  expect(pyFixed(0.5336, 3)).toBe('0.534');
  expect(pyFixed(-1, 3)).toBe('-1.000');
  expect(pyFixed(0.95, 2)).toBe('0.95');
  expect(pyFixed(2.675, 2)).toBe('2.67'); // binary value is below the tie
});

test('npMean follows numpy pairwise summation incl. 8192-element blocks', () => {
  // numpy 1.24 (the reference's version) pair-sums 8192-element buffer blocks and adds the blocks left to
  // right: ...756 (numpy >= 2.3 pair-sums the whole array: ...767; a left-to-right loop differs as well).
  const w = Array.from({ length: 20000 }, (_, i) => 1 / (i + 3));
  expect(npMean(w)).toBe(0.00044904141048649756);
  const v = Array.from({ length: 150 }, (_, i) => 1 / (i + 3)).filter((_, i) => i % 7 !== 0);
  expect(npMean(v)).toBe(0.025978770730257388);
});
