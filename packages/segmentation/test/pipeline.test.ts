import { Rng, TRANSFORMS, initialSample, reduceZeroLabel, type HostImage, type LabelMap, type Sample } from '@litv2/core';
import { PhotoMetricDistortion, RandomCrop, cropIsDiverse, hsvToRgb8, rgbToHsv8 } from '../src/data';

/** A sample whose image encodes each pixel's (y, x) so crops can be traced back; label = (y*7 + x) % 5. */
function tracedSample(h: number, w: number, seed = 1): Sample {
  const img: HostImage = { data: new Uint8Array(h * w * 3), height: h, width: w, channels: 3 };
  const seg: LabelMap = { data: new Uint8Array(h * w), height: h, width: w };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      img.data[i * 3] = y;
      img.data[i * 3 + 1] = x;
      img.data[i * 3 + 2] = (y * 7 + x) % 5;
      seg.data[i] = (y * 7 + x) % 5;
    }
  }
  const s = initialSample({ index: 0, filename: 'traced', height: h, width: w }, new Rng(seed));
  s.img = img;
  s.gt_semantic_seg = seg;
  return s;
}

describe('segmentation pipeline bookkeeping', () => {
  test('RandomCrop keeps image and label aligned and updates img_shape', () => {
    for (let seed = 0; seed < 20; seed++) {
      const s = new RandomCrop([16, 24], 0.75).apply(tracedSample(40, 50, seed));
      expect([s.img!.height, s.img!.width]).toEqual([16, 24]);
      expect(s.meta.img_shape).toEqual([16, 24, 3]);
      const y0 = s.img!.data[0];
      const x0 = s.img!.data[1];
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 24; x++) {
          const i = y * 24 + x;
          expect(s.img!.data[i * 3]).toBe(y0 + y);
          expect(s.img!.data[i * 3 + 1]).toBe(x0 + x);
          expect(s.gt_semantic_seg!.data[i]).toBe(s.img!.data[i * 3 + 2]);
        }
      }
    }
  });

  test('RandomCrop with cat_max_ratio re-draws single-class crops (and gives up after 10 checks)', () => {
    // Left half class 1, right half class 2; crops 8 wide on a 40-wide image are often single-class.
    const mk = (seed: number) => {
      const s = tracedSample(8, 40, seed);
      for (let y = 0; y < 8; y++) for (let x = 0; x < 40; x++) s.gt_semantic_seg!.data[y * 40 + x] = x < 20 ? 1 : 2;
      return s;
    };
    let mixed = 0;
    for (let seed = 0; seed < 30; seed++) {
      const s = new RandomCrop([8, 8], 0.75).apply(mk(seed));
      const labels = new Set(s.gt_semantic_seg!.data);
      if (labels.size > 1) mixed++;
    }
    // Only offsets 13..19 (7 of 33) straddle the border with < 75 % of one class; with 11 draws most succeed.
    expect(mixed).toBeGreaterThan(20);
    // Without the ratio rule the first draw is kept: most crops are single-class.
    let mixedPlain = 0;
    for (let seed = 0; seed < 30; seed++) if (new Set(new RandomCrop([8, 8]).apply(mk(seed)).gt_semantic_seg!.data).size > 1) mixedPlain++;
    expect(mixedPlain).toBeLessThan(mixed);
    // 255 never counts as a class.
    const m: LabelMap = { data: Uint8Array.from([1, 1, 255, 255]), height: 2, width: 2 };
    expect(cropIsDiverse(m, [0, 2, 0, 2], 0.75, 255)).toBe(false);
  });

  test('Pad fills the label map with 255 and the image with 0 (core Pad with seg_pad_val)', async () => {
    const pad = TRANSFORMS.build({ type: 'Pad', size: [12, 10], pad_val: 0, seg_pad_val: 255 }, undefined);
    const s = (await pad.apply(tracedSample(7, 9))) as Sample;
    expect(s.meta.pad_shape).toEqual([12, 10, 3]);
    const seg = s.gt_semantic_seg!;
    expect([seg.height, seg.width]).toEqual([12, 10]);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 10; x++) {
        const inside = y < 7 && x < 9;
        expect(seg.data[y * 10 + x]).toBe(inside ? (y * 7 + x) % 5 : 255);
        if (!inside) expect(s.img!.data[(y * 10 + x) * 3]).toBe(0);
      }
    }
  });

  test('reduce_zero_label: 0 -> 255, k -> k-1, 255 stays 255', () => {
    const m: LabelMap = { data: Uint8Array.from([0, 1, 2, 150, 255]), height: 1, width: 5 };
    expect(Array.from(reduceZeroLabel(m).data)).toEqual([255, 0, 1, 149, 255]);
  });

  test('OpenCV 8-bit HSV round trip is close to identity and matches known values', () => {
    const px = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 64, 32, 10, 10, 10]);
    const hsv = px.slice();
    rgbToHsv8(hsv);
    // cv2.cvtColor(np.uint8([[[0,0,255],[0,255,0],[255,0,0]]]), cv2.COLOR_BGR2HSV) = (0,255,255), (60,255,255), (120,255,255)
    expect(Array.from(hsv.slice(0, 9))).toEqual([0, 255, 255, 60, 255, 255, 120, 255, 255]);
    expect(Array.from(hsv.slice(12))).toEqual([0, 0, 10]);
    const back = hsv.slice();
    hsvToRgb8(back);
    for (let i = 0; i < px.length; i++) expect(Math.abs(back[i] - px[i])).toBeLessThanOrEqual(2);
  });

  test('PhotoMetricDistortion is deterministic per stream, keeps shape and leaves labels alone', () => {
    const a = new PhotoMetricDistortion().apply(tracedSample(10, 12, 5));
    const b = new PhotoMetricDistortion().apply(tracedSample(10, 12, 5));
    expect(Array.from(a.img!.data)).toEqual(Array.from(b.img!.data));
    expect([a.img!.height, a.img!.width]).toEqual([10, 12]);
    expect(Array.from(a.gt_semantic_seg!.data)).toEqual(Array.from(tracedSample(10, 12).gt_semantic_seg!.data));
    let changed = 0;
    for (let seed = 0; seed < 10; seed++) {
      const s = new PhotoMetricDistortion().apply(tracedSample(10, 12, seed));
      if (Array.from(s.img!.data).some((v, i) => v !== tracedSample(10, 12).img!.data[i])) changed++;
    }
    expect(changed).toBeGreaterThan(5); // 1 − 0.5⁴ of the streams distort something
  });
});
