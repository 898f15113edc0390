import { TRANSFORMS, initialSample, applyPipeline, buildPipeline, registerFieldHandler } from '../src/data/pipeline';
import '../src/data/transforms';
import { reduceZeroLabel } from '../src/data/transforms';
import { resizeBilinear, resizeNearestLabel, rescaleSize } from '../src/data/resize';
import { Rng } from '../src/data/rng';
import type { Sample } from '../src/data/types';

function sample(h: number, w: number, opts: { boxes?: number[]; seg?: boolean } = {}): Sample {
  const s = initialSample({ index: 0, filename: 'x.png', height: h, width: w }, new Rng(1));
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
  s.img = { data, height: h, width: w, channels: 3 };
  s.meta.ori_shape = s.meta.img_shape = s.meta.pad_shape = [h, w, 3];
  if (opts.boxes) {
    s.gt_bboxes = Float32Array.from(opts.boxes);
    s.gt_labels = Int32Array.from({ length: opts.boxes.length / 4 }, (_, i) => i);
  }
  if (opts.seg) s.gt_semantic_seg = { data: Uint8Array.from({ length: h * w }, (_, i) => i % 5), height: h, width: w };
  return s;
}

const build = (cfg: Record<string, unknown>) => TRANSFORMS.build(cfg, undefined, { file: 'cfg.yaml', path: 'train_pipeline.0' });

test('mmcv keep-ratio rescale rule for (1333, 800)', () => {
  // 640x480: min(1333/640, 800/480) = 1.6667 -> int(640*1.6667+0.5)=1067, 800
  expect(rescaleSize(640, 480, [1333, 800]).slice(0, 2)).toEqual([1067, 800]);
  // 500x333: min(1333/500, 800/333)=2.4024 -> 1201, 800
  expect(rescaleSize(500, 333, [1333, 800]).slice(0, 2)).toEqual([1201, 800]);
  // very wide 2000x500: long edge limits: 1333/2000 = 0.6665 -> 1333, 333
  expect(rescaleSize(2000, 500, [1333, 800]).slice(0, 2)).toEqual([1333, 333]);
});

test('Resize keep_ratio scales boxes and records scale_factor / img_shape', async () => {
  const s = sample(48, 64, { boxes: [8, 4, 40, 44, 0, 0, 64, 48] });
  const out = (await build({ type: 'Resize', img_scale: [1333, 800], keep_ratio: true }).apply(s))!;
  // min(1333/64, 800/48) = 16.667 -> 1067 x 800
  expect(out.meta.img_shape).toEqual([800, 1067, 3]);
  expect(out.img!.width).toBe(1067);
  const sx = 1067 / 64;
  const sy = 800 / 48;
  out.meta.scale_factor.forEach((v, i) => expect(v).toBeCloseTo([sx, sy, sx, sy][i], 6));
  const b = Array.from(out.gt_bboxes!);
  [8 * sx, 4 * sy, 40 * sx, 44 * sy, 0, 0, 1067, 800].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 3));
});

test('Resize with ratio_range (mmseg) draws a ratio from the sample stream and resizes the label map with nearest', async () => {
  const t = build({ type: 'Resize', img_scale: [64, 16], ratio_range: [0.5, 2.0] });
  const a = (await t.apply(sample(20, 40, { seg: true })))!;
  const b = (await t.apply(sample(20, 40, { seg: true })))!;
  expect(a.meta.img_shape).toEqual(b.meta.img_shape); // same rng seed -> same ratio
  const r = new Rng(1).uniform(0.5, 2.0);
  const [w, h] = rescaleSize(40, 20, [Math.trunc(64 * r), Math.trunc(16 * r)]);
  expect(a.meta.img_shape).toEqual([h, w, 3]);
  expect(a.gt_semantic_seg!.width).toBe(w);
  const labels = new Set(a.gt_semantic_seg!.data);
  for (const l of labels) expect(l).toBeLessThan(5); // nearest never invents classes
});

test('bilinear resize follows cv2.INTER_LINEAR (half-pixel centres, edge clamp)', () => {
  const img = { data: Float32Array.from([0, 10, 20, 30]), height: 1, width: 4, channels: 1 };
  // 4 -> 2: src x = (d+0.5)*2-0.5 = 0.5, 2.5
  expect(Array.from(resizeBilinear(img, 1, 2).data)).toEqual([5, 25]);
  // 4 -> 8: src x = (d+0.5)/2-0.5 = -0.25 (clamped to 0), 0.25, 0.75, ..., 3.25 (clamped to 3)
  expect(Array.from(resizeBilinear(img, 1, 8).data)).toEqual([0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]);
  const lab = { data: Uint8Array.from([1, 2, 3]), height: 1, width: 3 };
  expect(Array.from(resizeNearestLabel(lab, 1, 6).data)).toEqual([1, 1, 2, 2, 3, 3]);
});

test('RandomFlip flips boxes as mmdet (x1 = w - x2) and the image and seg map', async () => {
  const s = sample(4, 10, { boxes: [1, 0, 3, 2], seg: true });
  const img0 = s.img!.data.slice();
  const seg0 = s.gt_semantic_seg!.data.slice();
  const out = (await build({ type: 'RandomFlip', flip_ratio: 1.0 }).apply(s))!;
  expect(out.meta.flip).toBe(true);
  expect(out.meta.flip_direction).toBe('horizontal');
  expect(Array.from(out.gt_bboxes!)).toEqual([7, 0, 9, 2]);
  // pixel (y=1, x=0) now holds the old (y=1, x=9)
  expect(Array.from(out.img!.data.slice(30, 33))).toEqual(Array.from(img0.slice((10 + 9) * 3, (10 + 9) * 3 + 3)));
  expect(out.gt_semantic_seg!.data[10]).toBe(seg0[19]);
  const never = (await build({ type: 'RandomFlip', prob: 0 }).apply(sample(4, 10)))!;
  expect(never.meta.flip).toBe(false);
});

test('Pad to a multiple of 32 (image 0) and to a fixed size (seg 255); pad_shape recorded', async () => {
  const s = sample(50, 70, { seg: true, boxes: [1, 2, 3, 4] });
  const out = (await build({ type: 'Pad', size_divisor: 32 }).apply(s))!;
  expect(out.meta.pad_shape).toEqual([64, 96, 3]);
  expect(out.meta.img_shape).toEqual([50, 70, 3]);
  expect(out.img!.data[(63 * 96 + 95) * 3]).toBe(0);
  expect(out.gt_semantic_seg!.data[63 * 96 + 95]).toBe(255);
  expect(Array.from(out.gt_bboxes!)).toEqual([1, 2, 3, 4]);
  const fixed = (await build({ type: 'Pad', size: [64, 80], pad_val: 0, seg_pad_val: 255 }).apply(sample(50, 70, { seg: true })))!;
  expect(fixed.meta.pad_shape).toEqual([64, 80, 3]);
  expect(() => build({ type: 'Pad' })).toThrow(/cfg\.yaml: train_pipeline\.0: Pad needs exactly one of 'size' and 'size_divisor'/);
});

test('Normalize converts to float with mean/std (RGB) and records img_norm_cfg', async () => {
  const s = sample(1, 1);
  s.img!.data.set([10, 20, 30]);
  const out = (await build({ type: 'Normalize', mean: [1, 2, 3], std: [2, 4, 6], to_rgb: true }).apply(s))!;
  expect(Array.from(out.img!.data)).toEqual([4.5, 4.5, 4.5]);
  const bgr = (await build({ type: 'Normalize', mean: [0, 0, 0], std: [1, 1, 1], to_rgb: false }).apply(sample(1, 1)))!;
  expect(Array.from(bgr.img!.data)).toEqual([14, 7, 0]); // sample pixel is [0, 7, 14] in RGB
  expect(out.meta.img_norm_cfg).toEqual({ mean: [1, 2, 3], std: [2, 4, 6], to_rgb: true });
});

test('full mmdet train pipeline bookkeeping and a task field handler', async () => {
  registerFieldHandler('test_points', {
    resize: (v, { scaleFactor }) => (v as number[]).map((x, i) => x * scaleFactor[i % 2]),
    flip: (v, { width }) => (v as number[]).map((x, i) => (i % 2 === 0 ? width - x : x)),
  });
  const pipe = buildPipeline(
    [
      { type: 'Resize', img_scale: [40, 20], keep_ratio: true },
      { type: 'RandomFlip', flip_ratio: 1 },
      { type: 'Normalize', mean: [0, 0, 0], std: [1, 1, 1] },
      { type: 'Pad', size_divisor: 32 },
      { type: 'DefaultFormatBundle' },
      { type: 'Collect', keys: ['img', 'gt_bboxes', 'gt_labels'] },
    ],
    { file: 'c.yaml', path: 'data.train.pipeline' },
  );
  const s = sample(10, 10, { boxes: [0, 0, 5, 5] });
  s.extra.test_points = [1, 2];
  const out = (await applyPipeline(pipe, s))!;
  expect(out.meta.img_shape).toEqual([20, 20, 3]);
  expect(out.meta.pad_shape).toEqual([32, 32, 3]);
  expect(Array.from(out.gt_bboxes!)).toEqual([10, 0, 20, 10]);
  expect(out.extra.test_points).toEqual([18, 4]);
  expect(() => buildPipeline([{ type: 'Resise' }], { file: 'c.yaml', path: 'data.train.pipeline' })).toThrow(/c\.yaml: data\.train\.pipeline\.0\.type: unknown transform type 'Resise'.*Resize/);
});

test('reduce_zero_label: 0 -> 255, k -> k-1, 255 stays', () => {
  const m = { data: Uint8Array.from([0, 1, 2, 255]), height: 1, width: 4 };
  expect(Array.from(reduceZeroLabel(m).data)).toEqual([255, 0, 1, 255]);
});
