/**
 * The synthetic classification set: one coloured, textured shape per image on a noisy gradient background
 * (core's synthetic scenes with exactly one object), written as an ImageFolder tree
 * `<out>/{train,val}/<shape>/NNNNNN.png`. Generated on first use; a stamp file makes regeneration a no-op
 * while the options are unchanged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SYNTHETIC_CLASSES, encodeRgbPng, renderScene, resolveSyntheticOptions } from '@litv2/core/node';

export interface SyntheticClsOptions {
  out: string;
  seed: number;
  numTrain: number;
  numVal: number;
  /** Square image side. */
  size: number;
  numClasses: number;
}

export const SYNTHETIC_CLS_DEFAULTS: Omit<SyntheticClsOptions, 'out'> = { seed: 0, numTrain: 1200, numVal: 300, size: 72, numClasses: 6 };
/** Where the configs keep the synthetic set (relative to the repository root). */
export const SYNTHETIC_CLS_DIR = 'data/synthetic_cls';
const STAMP = '.synthetic-cls-stamp.json';
const VERSION = 1;

function stampOf(o: SyntheticClsOptions): string {
  const { out: _out, ...params } = o;
  return JSON.stringify({ version: VERSION, ...params });
}

/** Writes the set unless `out` already holds one made with these options. Returns whether it wrote anything. */
export async function makeSyntheticClassification(o: SyntheticClsOptions, log: (l: string) => void = () => undefined): Promise<boolean> {
  const stampFile = path.join(o.out, STAMP);
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stampOf(o)) return false;
  // One object per scene, large enough to fill a good part of the image.
  const scene = resolveSyntheticOptions({ out: o.out, seed: o.seed, size: o.size, numClasses: o.numClasses, minObjects: 1, maxObjects: 1, minScale: 0.35, maxScale: 0.6 });
  const t0 = Date.now();
  for (const split of ['train', 'val'] as const) {
    fs.rmSync(path.join(o.out, split), { recursive: true, force: true });
    for (const name of SYNTHETIC_CLASSES.slice(0, o.numClasses)) fs.mkdirSync(path.join(o.out, split, name), { recursive: true });
    const n = split === 'train' ? o.numTrain : o.numVal;
    for (let i = 0; i < n; i++) {
      const s = renderScene(scene, split, i);
      if (s.objects.length !== 1) continue; // placement failed (very rare): no image rather than a wrong label
      const file = path.join(o.out, split, SYNTHETIC_CLASSES[s.objects[0].label], `${String(i).padStart(6, '0')}.png`);
      fs.writeFileSync(file, await encodeRgbPng({ data: s.rgb, height: o.size, width: o.size, channels: 3 }));
    }
  }
  fs.writeFileSync(stampFile, stampOf(o));
  log(`synthetic classification set: ${o.numTrain} train / ${o.numVal} val images of ${o.numClasses} classes in ${o.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return true;
}
