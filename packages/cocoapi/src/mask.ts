/**
 * The pycocotools `mask` module on JSON-shaped objects: compressed RLE objects in and out, masks as
 * column-major byte arrays (see BinaryMask). Everything is computed on typed arrays by the functions in
 * rle.ts / polygon.ts / iou.ts, which can be used directly to skip the string conversions.
 */
import { bbIou, rleIou } from './iou';
import { rleFrBbox, rleFrPoly } from './polygon';
import {
  rleArea,
  rleDecode,
  rleEncode,
  rleMerge,
  rleToBbox,
  type BinaryMask,
  type RLE,
  type RleObject,
  type UncompressedRle,
} from './rle';
import { countsFromString, countsToString } from './rle-string';

export type Bbox = [number, number, number, number];

/** RLE struct -> JSON object with compressed counts. */
export function toRleObject(rle: RLE): RleObject {
  return { size: [rle.h, rle.w], counts: countsToString(rle.counts) };
}

/** Compressed (string counts) or uncompressed (number list) RLE object -> RLE struct. */
export function fromRleObject(obj: RleObject | UncompressedRle): RLE {
  const [h, w] = obj.size;
  if (typeof obj.counts === 'string') return { h, w, counts: countsFromString(obj.counts) };
  return { h, w, counts: Uint32Array.from(obj.counts, (c) => c >>> 0) };
}

export function encode(mask: BinaryMask): RleObject {
  return toRleObject(rleEncode(mask));
}

export function decode(rle: RleObject | UncompressedRle): BinaryMask {
  return rleDecode(fromRleObject(rle));
}

export function area(rle: RleObject | UncompressedRle): number {
  return rleArea(fromRleObject(rle));
}

export function toBbox(rle: RleObject | UncompressedRle): Bbox {
  return rleToBbox(fromRleObject(rle));
}

export function merge(rles: readonly (RleObject | UncompressedRle)[], intersect = false): RleObject {
  return toRleObject(rleMerge(rles.map(fromRleObject), intersect));
}

/** Rasterise each polygon ([x0, y0, x1, y1, ...]) separately, as pycocotools' frPoly. */
export function frPoly(polys: readonly ArrayLike<number>[], h: number, w: number): RleObject[] {
  return polys.map((p) => toRleObject(rleFrPoly(p, h, w)));
}

/** Rasterise boxes [x, y, w, h]. */
export function frBbox(boxes: readonly ArrayLike<number>[], h: number, w: number): RleObject[] {
  return boxes.map((b) => toRleObject(rleFrBbox(b, h, w)));
}

/** Uncompressed RLEs keep their own size (h, w are unused, as in pycocotools) and are re-encoded as strings. */
export function frUncompressedRLE(rles: readonly UncompressedRle[], _h?: number, _w?: number): RleObject[] {
  return rles.map((r) => toRleObject(fromRleObject(r)));
}

function isRleLike(o: unknown): o is UncompressedRle | RleObject {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && 'counts' in o && 'size' in o;
}

/**
 * pycocotools' frPyObjects dispatch: a list of boxes (4 numbers each), of polygons (more than 4 numbers) or of
 * RLE objects gives a list; a single box, polygon or RLE object gives one RLE object. (A list of 4-element
 * lists is treated as boxes, as in the maintained pycocotools fork; the 2020 original raised a TypeError.)
 */
export function frPyObjects(obj: readonly (readonly number[])[] | readonly UncompressedRle[], h: number, w: number): RleObject[];
export function frPyObjects(obj: readonly number[] | UncompressedRle, h: number, w: number): RleObject;
export function frPyObjects(obj: unknown, h: number, w: number): RleObject | RleObject[] {
  if (Array.isArray(obj)) {
    if (obj.length === 0) throw new Error('frPyObjects: empty input');
    const first: unknown = obj[0];
    if (Array.isArray(first)) {
      if (first.length === 4) return frBbox(obj as number[][], h, w);
      if (first.length > 4) return frPoly(obj as number[][], h, w);
      throw new Error(`frPyObjects: a polygon needs more than 4 coordinates, got ${first.length}`);
    }
    if (isRleLike(first)) return (obj as (UncompressedRle | RleObject)[]).map((r) => toRleObject(fromRleObject(r)));
    if (typeof first === 'number') {
      if (obj.length === 4) return frBbox([obj as number[]], h, w)[0];
      if (obj.length > 4) return frPoly([obj as number[]], h, w)[0];
    }
  } else if (isRleLike(obj)) {
    return toRleObject(fromRleObject(obj));
  }
  throw new Error('frPyObjects: input type is not supported');
}

/**
 * IoU of every detection (rows) against every ground truth (columns): both boxes [x, y, w, h] or both RLE
 * objects. Returns [] when either side is empty, like pycocotools.
 */
export function iou(
  dt: readonly (readonly number[])[] | readonly (RleObject | UncompressedRle)[],
  gt: readonly (readonly number[])[] | readonly (RleObject | UncompressedRle)[],
  iscrowd: ArrayLike<number | boolean>,
): number[][] {
  const m = dt.length;
  const n = gt.length;
  if (m === 0 || n === 0) return [];
  const crowd = Uint8Array.from({ length: n }, (_, i) => (iscrowd[i] ? 1 : 0));
  const dtBoxes = dt.every((o) => Array.isArray(o) && o.length === 4);
  const gtBoxes = gt.every((o) => Array.isArray(o) && o.length === 4);
  const dtRle = dt.every(isRleLike);
  const gtRle = gt.every(isRleLike);
  let o: Float64Array;
  if (dtBoxes && gtBoxes) {
    o = bbIou(Float64Array.from((dt as number[][]).flat()), Float64Array.from((gt as number[][]).flat()), m, n, crowd);
  } else if (dtRle && gtRle) {
    o = rleIou((dt as RleObject[]).map(fromRleObject), (gt as RleObject[]).map(fromRleObject), crowd);
  } else {
    throw new Error('iou: dt and gt must both be lists of boxes (Nx4) or both lists of RLE objects');
  }
  const rows: number[][] = [];
  for (let d = 0; d < m; d++) rows.push(Array.from(o.subarray(d * n, (d + 1) * n)));
  return rows;
}

/** Row lists (h rows of w values, as numpy prints them) -> column-major mask. */
export function maskFromRows(rows: readonly (readonly number[])[]): BinaryMask {
  const h = rows.length;
  const w = h > 0 ? rows[0].length : 0;
  const data = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[x * h + y] = rows[y][x];
  return { h, w, data };
}

/** Column-major mask -> row lists. */
export function maskToRows(mask: BinaryMask): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < mask.h; y++) {
    const row: number[] = new Array(mask.w);
    for (let x = 0; x < mask.w; x++) row[x] = mask.data[x * mask.h + y];
    rows.push(row);
  }
  return rows;
}
