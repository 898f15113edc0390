/**
 * Validated conversion of an annotation's `segmentation` field (polygons, uncompressed RLE, compressed RLE)
 * into an RLE struct, the way COCO.annToRLE does it, with errors that name the annotation.
 */
import { CocoFormatError, describe } from './errors';
import { rleFrBbox, rleFrPoly } from './polygon';
import { rleArea, rleMerge, rleToBboxInto, type RLE, type RleObject, type UncompressedRle } from './rle';
import { decodeCountsScratch } from './rle-string';

export type Polygons = number[][];
export type Segmentation = Polygons | RleObject | UncompressedRle;

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * Validated view of an RLE object's counts (compressed strings are decoded into a shared scratch buffer,
 * valid until the next decode): size must be [h, w] and the runs must cover exactly h*w pixels (the C code
 * would read out of bounds otherwise).
 */
function checkedCounts(segm: unknown, what: string): { h: number; w: number; counts: Uint32Array; scratch: boolean } {
  if (typeof segm !== 'object' || segm === null || Array.isArray(segm)) {
    throw new CocoFormatError(`${what}: segmentation must be polygons or an RLE object, got ${describe(segm)}`);
  }
  const o = segm as { size?: unknown; counts?: unknown };
  const size = o.size;
  if (!Array.isArray(size) || size.length !== 2 || !isNonNegInt(size[0]) || !isNonNegInt(size[1])) {
    throw new CocoFormatError(`${what}: segmentation.size must be [height, width], got ${describe(size)}`);
  }
  const [h, w] = size as [number, number];
  let counts: Uint32Array;
  let scratch = false;
  if (typeof o.counts === 'string') {
    try {
      const d = decodeCountsScratch(o.counts);
      counts = d.counts.subarray(0, d.m);
      scratch = true;
    } catch (e) {
      throw new CocoFormatError(`${what}: segmentation.counts: ${(e as Error).message}`);
    }
  } else if (Array.isArray(o.counts)) {
    const src = o.counts as unknown[];
    counts = new Uint32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (!isNonNegInt(c) || c > 0xffffffff) {
        throw new CocoFormatError(`${what}: segmentation.counts[${i}] must be a non-negative integer, got ${describe(c)}`);
      }
      counts[i] = c;
    }
  } else {
    throw new CocoFormatError(`${what}: segmentation.counts must be a string or a list of run lengths, got ${describe(o.counts)}`);
  }
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i];
  if (sum !== h * w) {
    throw new CocoFormatError(`${what}: segmentation run lengths sum to ${sum}, expected height*width = ${h * w}`);
  }
  return { h, w, counts, scratch };
}

/** RLE object (compressed or not) -> RLE with its own size, validated (see checkedCounts). */
export function rleFromObjectChecked(segm: unknown, what: string): RLE {
  const { h, w, counts, scratch } = checkedCounts(segm, what);
  return { h, w, counts: scratch ? counts.slice() : counts };
}

/** Area and bbox of a validated RLE object without keeping its counts. */
export function rleInfoChecked(segm: unknown, what: string, box: Float64Array | number[], offset: number): number {
  const rle = checkedCounts(segm, what);
  rleToBboxInto(rle, box, offset);
  return rleArea(rle);
}

/**
 * annToRLE: polygons are rasterised at the image size and merged (union); an uncompressed RLE is re-encoded
 * with its own size; a compressed RLE is used as is. A list of 4-number entries is rasterised as boxes, as
 * frPyObjects dispatches it.
 */
export function segmentationToRle(segm: unknown, h: number, w: number, what: string): RLE {
  if (Array.isArray(segm)) {
    if (segm.length === 0) throw new CocoFormatError(`${what}: segmentation is an empty polygon list`);
    const parts: RLE[] = [];
    const firstLen = Array.isArray(segm[0]) ? (segm[0] as unknown[]).length : -1;
    for (let j = 0; j < segm.length; j++) {
      const poly: unknown = segm[j];
      if (!Array.isArray(poly) || !poly.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new CocoFormatError(`${what}: segmentation[${j}] must be a list of numbers, got ${describe(poly)}`);
      }
      if (firstLen === 4) {
        if (poly.length !== 4) throw new CocoFormatError(`${what}: segmentation[${j}] is not a 4-number box like segmentation[0]`);
        parts.push(rleFrBbox(poly as number[], h, w));
      } else {
        if (firstLen < 4) throw new CocoFormatError(`${what}: segmentation[0] has ${firstLen} coordinates; a polygon needs at least 6`);
        parts.push(rleFrPoly(poly as number[], h, w));
      }
    }
    return parts.length === 1 ? parts[0] : rleMerge(parts, false);
  }
  return rleFromObjectChecked(segm, what);
}
