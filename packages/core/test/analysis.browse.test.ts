import sharp from 'sharp';
import { annotationSvg, classColor, drawSample, sampleRgb } from '../src/analysis/browse';
import { initialSample } from '../src/data/pipeline';
import { Rng } from '../src/data/rng';
import type { Sample } from '../src/data/types';

function sample(): Sample {
  const s = initialSample({ index: 0, filename: 'x.png' }, new Rng(1));
  const w = 60, h = 40;
  const mean = [100, 110, 120], std = [50, 40, 30];
  const data = new Float32Array(w * h * 3);
  // Normalised grey 90 everywhere.
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = (90 - mean[c]) / std[c];
  s.img = { data, width: w, height: h, channels: 3 };
  s.meta.img_norm_cfg = { mean, std, to_rgb: true };
  s.gt_bboxes = Float32Array.from([10, 12, 30, 35, 35, 5, 55, 20]);
  s.gt_labels = Int32Array.from([0, 2]);
  s.gt_masks = [[[12, 14, 28, 14, 20, 33]], [[36, 6, 54, 6, 54, 19]]];
  return s;
}

test('browse: the SVG layer has one box, tag and name per object and one polygon per ring', () => {
  const svg = annotationSvg(sample(), ['cat', 'dog', 'kite'], 60, 40);
  expect(svg.match(/class="gt-box"/g)).toHaveLength(2);
  expect(svg.match(/class="gt-mask"/g)).toHaveLength(2);
  expect([...svg.matchAll(/class="gt-label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['cat', 'kite']);
});

test('browse: the PNG shows the de-normalised image, box edges in the class colour and the label map blended', async () => {
  const s = sample();
  expect([...sampleRgb(s).data.subarray(0, 3)]).toEqual([90, 90, 90]);
  const png = await drawSample(s, ['cat', 'dog', 'kite']);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([60, 40]);
  const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  expect(px(2, 38)).toEqual([90, 90, 90]); // untouched corner
  const edge = px(10, 25); // left edge of the first box (stroke 2 px centred on x = 10)
  const [r, g, b] = classColor(0);
  expect(Math.abs(edge[0] - r) + Math.abs(edge[1] - g) + Math.abs(edge[2] - b)).toBeLessThan(60);
  // A label map: class 1 on the left half, ignore (255) on the right half.
  s.gt_bboxes = new Float32Array(0);
  s.gt_labels = new Int32Array(0);
  s.gt_masks = [];
  const seg = new Uint8Array(60 * 40).fill(255);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 30; x++) seg[y * 60 + x] = 1;
  s.gt_semantic_seg = { data: seg, width: 60, height: 40 };
  const out = await sharp(await drawSample(s, ['cat', 'dog', 'kite'])).raw().toBuffer({ resolveWithObject: true });
  const ch = out.info.channels;
  const at = (x: number, y: number) => [...out.data.subarray((y * 60 + x) * ch, (y * 60 + x) * ch + 3)];
  const c1 = classColor(1);
  at(5, 5).forEach((v, c) => expect(Math.abs(v - (90 + c1[c]) / 2)).toBeLessThanOrEqual(2));
  expect(at(50, 5)).toEqual([90, 90, 90]);
});
