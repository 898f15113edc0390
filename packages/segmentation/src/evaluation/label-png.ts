/**
 * Reads 8-bit label maps from PNG files (grayscale, or palette images whose pixel values are palette
 * indices, as PIL writes mmseg predictions) into row-major Uint8Arrays of class ids.
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';

export interface LabelMap {
  height: number;
  width: number;
  /** Row-major class ids. */
  data: Uint8Array;
}

export function readLabelPng(file: string): LabelMap {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(fs.readFileSync(file), { skipRescale: true });
  } catch (e) {
    throw new Error(`${file}: cannot decode PNG: ${(e as Error).message}`);
  }
  const { width, height, depth } = png;
  const colorType: number = png.colorType;
  if (depth > 8) throw new Error(`${file}: ${depth}-bit PNG; label maps must be 8-bit`);
  const rgba = png.data;
  const n = width * height;
  const data = new Uint8Array(n);
  if (colorType === 0 || colorType === 4) {
    for (let i = 0; i < n; i++) data[i] = rgba[4 * i];
    return { height, width, data };
  }
  if (colorType === 3) {
    // pngjs expands palette indices to colours; map each colour back to its (unique) index.
    const palette = (png as unknown as { palette?: number[][] }).palette;
    if (!Array.isArray(palette)) throw new Error(`${file}: palette PNG without a palette`);
    const index = new Map<number, number>();
    const dup = new Set<number>();
    palette.forEach((c, i) => {
      const key = ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) >>> 0;
      if (index.has(key)) dup.add(key);
      else index.set(key, i);
    });
    for (let i = 0; i < n; i++) {
      const key = ((rgba[4 * i] << 24) | (rgba[4 * i + 1] << 16) | (rgba[4 * i + 2] << 8) | rgba[4 * i + 3]) >>> 0;
      if (dup.has(key)) throw new Error(`${file}: palette has repeated colours, label indices are ambiguous`);
      data[i] = index.get(key) as number;
    }
    return { height, width, data };
  }
  throw new Error(`${file}: colour PNG (colorType ${colorType}); label maps must be 8-bit grayscale or palette images`);
}

/** Write a grayscale 8-bit label PNG (used by tests and tools). */
export function writeLabelPng(file: string, map: LabelMap): void {
  const png = new PNG({ width: map.width, height: map.height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(map.data);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false }));
}
