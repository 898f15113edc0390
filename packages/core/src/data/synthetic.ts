/**
 * A deterministic synthetic dataset so a fresh machine can train and evaluate with no download.
 * Scenes of coloured, textured shapes (one class per shape kind) on noisy gradient backgrounds, written as
 * - COCO detection/instance format: `images/{train,val}/NNNNNN.png`, `annotations/instances_{train,val}.json`
 *   (bbox [x,y,w,h], polygon `segmentation`, `area` = pixel count of the rasterised polygon, iscrowd 0);
 * - mmseg semantic-segmentation layout: `seg/images/{training,validation}` (the same scenes, hard-linked) and
 *   `seg/annotations/{training,validation}` 8-bit grey PNGs. Label 0 is the background, a real class
 *   (so configs use reduce_zero_label: false and num_classes = classes + 1); label k is shape class k.
 * Everything depends only on the options (seed included); a stamp file makes regeneration a no-op.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, mixSeed } from './rng';
import { encodeLabelPng, encodeRgbPng } from './image';

export const SYNTHETIC_CLASSES = ['rectangle', 'ellipse', 'triangle', 'cross', 'star', 'diamond'] as const;
/** Base colours per class (RGB); each object jitters around its class colour. */
const CLASS_RGB: [number, number, number][] = [
  [220, 60, 50],
  [60, 200, 80],
  [60, 90, 230],
  [235, 210, 40],
  [210, 70, 210],
  [40, 210, 220],
];
const STAMP = '.synthetic-stamp.json';
const VERSION = 1;

export interface SyntheticOptions {
  /** Output directory (default data/synthetic). */
  out: string;
  seed?: number;
  numTrain?: number;
  numVal?: number;
  /** Square image side in pixels. */
  size?: number;
  /** Number of shape classes (1..6). */
  numClasses?: number;
  minObjects?: number;
  maxObjects?: number;
  /** Object size range as a fraction of the image side. */
  minScale?: number;
  maxScale?: number;
}

export type ResolvedSyntheticOptions = Required<SyntheticOptions>;

export function resolveSyntheticOptions(o: SyntheticOptions): ResolvedSyntheticOptions {
  const r: ResolvedSyntheticOptions = {
    out: o.out,
    seed: o.seed ?? 0,
    numTrain: o.numTrain ?? 600,
    numVal: o.numVal ?? 100,
    size: o.size ?? 128,
    numClasses: o.numClasses ?? 4,
    minObjects: o.minObjects ?? 1,
    maxObjects: o.maxObjects ?? 4,
    minScale: o.minScale ?? 0.15,
    maxScale: o.maxScale ?? 0.45,
  };
  if (!(r.numClasses >= 1 && r.numClasses <= SYNTHETIC_CLASSES.length)) throw new Error(`synthetic: numClasses must be 1..${SYNTHETIC_CLASSES.length}, got ${r.numClasses}`);
  if (!(r.size >= 32)) throw new Error(`synthetic: size must be >= 32, got ${r.size}`);
  if (!(r.minObjects >= 0 && r.maxObjects >= r.minObjects)) throw new Error('synthetic: need 0 <= minObjects <= maxObjects');
  if (!(r.minScale > 0 && r.maxScale >= r.minScale && r.maxScale < 1)) throw new Error('synthetic: need 0 < minScale <= maxScale < 1');
  return r;
}

/** One object: class, polygon (flat [x0,y0,...]) and its colour. */
interface Shape {
  label: number;
  poly: number[];
  rgb: [number, number, number];
  texture: number;
}

function shapePolygon(kind: number, cx: number, cy: number, w: number, h: number, rng: Rng): number[] {
  const pts: [number, number][] = [];
  const hw = w / 2;
  const hh = h / 2;
  switch (SYNTHETIC_CLASSES[kind]) {
    case 'rectangle':
      pts.push([-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]);
      break;
    case 'ellipse':
      for (let i = 0; i < 32; i++) pts.push([hw * Math.cos((2 * Math.PI * i) / 32), hh * Math.sin((2 * Math.PI * i) / 32)]);
      break;
    case 'triangle': {
      const up = rng.random() < 0.5 ? 1 : -1;
      pts.push([0, -hh * up], [hw, hh * up], [-hw, hh * up]);
      break;
    }
    case 'cross': {
      const tw = hw / 3;
      const th = hh / 3;
      pts.push([-tw, -hh], [tw, -hh], [tw, -th], [hw, -th], [hw, th], [tw, th], [tw, hh], [-tw, hh], [-tw, th], [-hw, th], [-hw, -th], [-tw, -th]);
      break;
    }
    case 'star':
      for (let i = 0; i < 10; i++) {
        const r = i % 2 === 0 ? 1 : 0.45;
        const a = -Math.PI / 2 + (Math.PI * i) / 5;
        pts.push([hw * r * Math.cos(a), hh * r * Math.sin(a)]);
      }
      break;
    default: // diamond
      pts.push([0, -hh], [hw, 0], [0, hh], [-hw, 0]);
  }
  return pts.flatMap(([x, y]) => [Math.round((cx + x) * 10) / 10, Math.round((cy + y) * 10) / 10]);
}

/** Even-odd rule at pixel centres; returns a mask over the polygon's bounding box region of the image. */
function rasterize(poly: number[], size: number): Uint8Array {
  const mask = new Uint8Array(size * size);
  const n = poly.length / 2;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, poly[2 * i]);
    x1 = Math.max(x1, poly[2 * i]);
    y0 = Math.min(y0, poly[2 * i + 1]);
    y1 = Math.max(y1, poly[2 * i + 1]);
  }
  for (let y = Math.max(0, Math.floor(y0)); y <= Math.min(size - 1, Math.ceil(y1)); y++) {
    const py = y + 0.5;
    for (let x = Math.max(0, Math.floor(x0)); x <= Math.min(size - 1, Math.ceil(x1)); x++) {
      const px = x + 0.5;
      let inside = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const xi = poly[2 * i];
        const yi = poly[2 * i + 1];
        const xj = poly[2 * j];
        const yj = poly[2 * j + 1];
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
      }
      if (inside) mask[y * size + x] = 1;
    }
  }
  return mask;
}

function bounds(poly: number[]): [number, number, number, number] {
  const xs = poly.filter((_, i) => i % 2 === 0);
  const ys = poly.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

export interface SyntheticScene {
  rgb: Uint8Array;
  label: Uint8Array;
  objects: { label: number; poly: number[]; bbox: [number, number, number, number]; area: number }[];
}

/** Renders scene `index` of `split` (pure function of the options). */
export function renderScene(o: ResolvedSyntheticOptions, split: 'train' | 'val', index: number): SyntheticScene {
  const rng = new Rng(mixSeed(o.seed, split === 'train' ? 1 : 2, index));
  const S = o.size;
  // Background: a random linear gradient between two muted colours plus pixel noise.
  const c0 = [0, 1, 2].map(() => 40 + rng.int(140));
  const c1 = [0, 1, 2].map(() => 40 + rng.int(140));
  const ang = rng.random() * 2 * Math.PI;
  const [dx, dy] = [Math.cos(ang), Math.sin(ang)];
  const rgb = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x - S / 2) * dx + (y - S / 2) * dy) / S));
      for (let k = 0; k < 3; k++) rgb[(y * S + x) * 3 + k] = Math.min(255, Math.max(0, Math.round(c0[k] * (1 - t) + c1[k] * t + (rng.random() - 0.5) * 40)));
    }
  }
  const label = new Uint8Array(S * S);
  const shapes: Shape[] = [];
  const boxes: [number, number, number, number][] = [];
  const count = o.minObjects + rng.int(o.maxObjects - o.minObjects + 1);
  for (let k = 0, tries = 0; k < count && tries < 50; tries++) {
    const cls = rng.int(o.numClasses);
    const w = S * rng.uniform(o.minScale, o.maxScale);
    const h = w * rng.uniform(0.7, 1.4);
    if (h >= S - 2) continue;
    const cx = w / 2 + 1 + rng.random() * (S - w - 2);
    const cy = h / 2 + 1 + rng.random() * (S - h - 2);
    const poly = shapePolygon(cls, cx, cy, w, h, rng);
    const b = bounds(poly);
    // Reject heavy overlaps so every object stays mostly visible.
    const clash = boxes.some((q) => {
      const iw = Math.min(b[2], q[2]) - Math.max(b[0], q[0]);
      const ih = Math.min(b[3], q[3]) - Math.max(b[1], q[1]);
      if (iw <= 0 || ih <= 0) return false;
      const small = Math.min((b[2] - b[0]) * (b[3] - b[1]), (q[2] - q[0]) * (q[3] - q[1]));
      return (iw * ih) / small > 0.25;
    });
    if (clash) continue;
    const base = CLASS_RGB[cls];
    shapes.push({ label: cls, poly, rgb: base.map((v) => Math.min(255, Math.max(0, v + rng.int(41) - 20))) as [number, number, number], texture: rng.int(3) });
    boxes.push(b);
    k++;
  }
  const objects: SyntheticScene['objects'] = [];
  for (const sh of shapes) {
    const mask = rasterize(sh.poly, S);
    let area = 0;
    for (let i = 0; i < S * S; i++) {
      if (!mask[i]) continue;
      area++;
      const x = i % S;
      const y = (i / S) | 0;
      // Light texture: stripes, checks or plain, so colour is the main cue but not a flat fill.
      const shade = sh.texture === 0 ? ((x + y) % 6 < 3 ? 0.85 : 1) : sh.texture === 1 ? (((x >> 2) + (y >> 2)) % 2 ? 0.85 : 1) : 1;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.min(255, Math.round(sh.rgb[c] * shade + (rng.random() - 0.5) * 16));
      label[i] = sh.label + 1;
    }
    const [x0, y0, x1, y1] = bounds(sh.poly);
    objects.push({ label: sh.label, poly: sh.poly, bbox: [x0, y0, x1 - x0, y1 - y0], area });
  }
  return { rgb, label, objects };
}

function stampOf(o: ResolvedSyntheticOptions): string {
  const { out: _out, ...params } = o;
  return JSON.stringify({ version: VERSION, ...params });
}

/** True when `out` already holds a dataset generated with exactly these options. */
export function syntheticIsCurrent(o: SyntheticOptions): boolean {
  const r = resolveSyntheticOptions(o);
  const f = path.join(r.out, STAMP);
  return fs.existsSync(f) && fs.readFileSync(f, 'utf8') === stampOf(r);
}

/** Writes the dataset (or does nothing when the stamp matches). Returns whether it generated anything. */
export async function makeSynthetic(opts: SyntheticOptions, log: (l: string) => void = () => undefined): Promise<boolean> {
  const o = resolveSyntheticOptions(opts);
  if (syntheticIsCurrent(o)) {
    log(`synthetic data in ${o.out} is up to date`);
    return false;
  }
  for (const d of ['images', 'annotations', 'seg']) fs.rmSync(path.join(o.out, d), { recursive: true, force: true });
  fs.rmSync(path.join(o.out, STAMP), { force: true });
  const categories = SYNTHETIC_CLASSES.slice(0, o.numClasses).map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
  let annId = 1;
  for (const split of ['train', 'val'] as const) {
    const n = split === 'train' ? o.numTrain : o.numVal;
    const segSplit = split === 'train' ? 'training' : 'validation';
    const imgDir = path.join(o.out, 'images', split);
    const segImgDir = path.join(o.out, 'seg', 'images', segSplit);
    const segAnnDir = path.join(o.out, 'seg', 'annotations', segSplit);
    for (const d of [imgDir, segImgDir, segAnnDir, path.join(o.out, 'annotations')]) fs.mkdirSync(d, { recursive: true });
    const images: object[] = [];
    const annotations: object[] = [];
    for (let i = 0; i < n; i++) {
      const scene = renderScene(o, split, i);
      const name = `${String(i).padStart(6, '0')}.png`;
      const file = path.join(imgDir, name);
      fs.writeFileSync(file, await encodeRgbPng({ data: scene.rgb, height: o.size, width: o.size, channels: 3 }));
      const segImg = path.join(segImgDir, name);
      try {
        fs.linkSync(file, segImg);
      } catch {
        fs.copyFileSync(file, segImg);
      }
      fs.writeFileSync(path.join(segAnnDir, name), encodeLabelPng({ data: scene.label, height: o.size, width: o.size }));
      const imageId = i + 1;
      images.push({ id: imageId, file_name: name, width: o.size, height: o.size });
      for (const ob of scene.objects) {
        annotations.push({
          id: annId++,
          image_id: imageId,
          category_id: ob.label + 1,
          bbox: ob.bbox.map((v) => Math.round(v * 100) / 100),
          area: ob.area,
          iscrowd: 0,
          segmentation: [ob.poly],
        });
      }
    }
    const json = { info: { description: 'LITv2.ts synthetic shapes', version: String(VERSION) }, images, annotations, categories };
    fs.writeFileSync(path.join(o.out, 'annotations', `instances_${split}.json`), JSON.stringify(json));
    log(`synthetic ${split}: ${n} images, ${annotations.length} objects`);
  }
  fs.writeFileSync(path.join(o.out, STAMP), stampOf(o));
  return true;
}
