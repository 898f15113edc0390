/**
 * Draws a sample as the model sees it after the training pipeline (mmdet/mmseg browse_dataset): the image
 * (de-normalised with the sample's img_norm_cfg when Normalize ran), ground-truth boxes with class names,
 * instance polygons filled translucent, and the semantic label map blended over the image (255 = ignore, left
 * clear). Node-only (sharp).
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Sample } from '../data/types';

/** A distinct RGB colour per class index (golden-angle hues). */
export function classColor(label: number): [number, number, number] {
  const h = (label * 137.508) % 360;
  const s = 0.75;
  const v = 0.95;
  const c = v * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = v - c;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

const hex = ([r, g, b]: [number, number, number]): string => `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The sample's image as RGB bytes (undoing Normalize: x * std + mean, and the channel swap of to_rgb). */
export function sampleRgb(sample: Sample): { data: Buffer; width: number; height: number } {
  const img = sample.img;
  if (!img) throw new Error(`browse: sample '${sample.info.filename}' has no image after the pipeline`);
  const { width, height, channels } = img;
  if (channels !== 3) throw new Error(`browse: sample '${sample.info.filename}' has ${channels} channels (expected 3)`);
  const out = Buffer.alloc(width * height * 3);
  if (img.data instanceof Uint8Array) {
    out.set(img.data);
  } else {
    const norm = sample.meta.img_norm_cfg;
    const mean = norm?.mean ?? [0, 0, 0];
    const std = norm?.std ?? [1, 1, 1];
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round(img.data[i * 3 + c] * std[c] + mean[c])));
    }
  }
  return { data: out, width, height };
}

/** The SVG layer of boxes, labels and polygons (exposed so tests can count what is drawn). */
export function annotationSvg(sample: Sample, classes: readonly string[], width: number, height: number): string {
  const parts: string[] = [];
  const boxes = sample.gt_bboxes ?? new Float32Array(0);
  const labels = sample.gt_labels ?? new Int32Array(0);
  const font = Math.max(9, Math.round(Math.min(width, height) / 40));
  (sample.gt_masks ?? []).forEach((rings, k) => {
    const color = hex(classColor(labels[k] ?? 0));
    for (const ring of rings) {
      const pts: string[] = [];
      for (let i = 0; i + 1 < ring.length; i += 2) pts.push(`${ring[i].toFixed(1)},${ring[i + 1].toFixed(1)}`);
      parts.push(`<polygon class="gt-mask" points="${pts.join(' ')}" fill="${color}" fill-opacity="0.4" stroke="${color}" stroke-width="1"/>`);
    }
  });
  for (let k = 0; k < labels.length; k++) {
    const [x1, y1, x2, y2] = boxes.subarray(k * 4, k * 4 + 4);
    const color = hex(classColor(labels[k]));
    const name = esc(classes[labels[k]] ?? String(labels[k]));
    parts.push(`<rect class="gt-box" x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${color}" stroke-width="2"/>`);
    // Name on a filled tag in the class colour above the box (inside it at the top edge of the image).
    const tagH = font + 3;
    const tagY = y1 - tagH >= 0 ? y1 - tagH : y1;
    const tagW = name.length * font * 0.62 + 4;
    parts.push(`<rect class="gt-tag" x="${x1.toFixed(1)}" y="${tagY.toFixed(1)}" width="${tagW.toFixed(1)}" height="${tagH}" fill="${color}"/>`);
    parts.push(`<text class="gt-label" x="${(x1 + 2).toFixed(1)}" y="${(tagY + font).toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="black">${name}</text>`);
  }
  const ign = sample.gt_bboxes_ignore ?? new Float32Array(0);
  for (let k = 0; k < ign.length / 4; k++) {
    const [x1, y1, x2, y2] = ign.subarray(k * 4, k * 4 + 4);
    parts.push(`<rect class="gt-ignore" x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="#808080" stroke-dasharray="4 2" stroke-width="1"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** PNG of the sample with its ground truth drawn on it. */
export async function drawSample(sample: Sample, classes: readonly string[]): Promise<Buffer> {
  const { data, width, height } = sampleRgb(sample);
  const layers: OverlayOptions[] = [];
  const seg = sample.gt_semantic_seg;
  if (seg) {
    if (seg.width !== width || seg.height !== height) throw new Error(`browse: sample '${sample.info.filename}': label map ${seg.width}x${seg.height} differs from image ${width}x${height}`);
    const rgba = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const l = seg.data[i];
      if (l === 255) continue;
      const [r, g, b] = classColor(l);
      rgba[i * 4] = r;
      rgba[i * 4 + 1] = g;
      rgba[i * 4 + 2] = b;
      rgba[i * 4 + 3] = 128;
    }
    layers.push({ input: rgba, raw: { width, height, channels: 4 } });
  }
  layers.push({ input: Buffer.from(annotationSvg(sample, classes, width, height)) });
  return sharp(data, { raw: { width, height, channels: 3 } }).composite(layers).png().toBuffer();
}
