/**
 * The compact ASCII form of RLE counts used in COCO JSON ("compressed RLE").
 *
 * Each count is written LEB128-style, 5 payload bits per character (offset 48), 0x20 = more characters follow,
 * 0x10 in the last character = negative. From the third count on, the difference to the count two places
 * earlier is stored instead of the count itself (it can be negative).
 */
import type { RLE } from './rle';

/** Encode run lengths into the compressed string. */
export function countsToString(counts: Uint32Array): string {
  const out: number[] = [];
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      // Low 5 bits, then an arithmetic shift by 5 (the value may exceed 32 bits, so no `>>`).
      let c = x & 0x1f;
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out.push(c + 48);
    }
    // Flush in chunks to keep String.fromCharCode's argument list short.
    if (out.length > 8192) {
      s += String.fromCharCode(...out);
      out.length = 0;
    }
  }
  return s + String.fromCharCode(...out);
}

let scratch = new Uint32Array(1024);

/**
 * Decode a compressed counts string into a shared scratch buffer and return the number of counts; the
 * buffer is valid until the next call. Arithmetic mirrors the C decoder (32-bit int shifts, uint32 result),
 * so any string the C code accepts gives the same counts.
 */
export function decodeCountsScratch(str: string): { counts: Uint32Array; m: number } {
  const n = str.length;
  // Every count uses at least one character, so n bounds the number of counts.
  if (scratch.length < n) scratch = new Uint32Array(Math.max(n, scratch.length * 2));
  const cnts = scratch;
  let m = 0;
  let p = 0;
  while (p < n) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= n) throw new Error(`malformed RLE string: ends inside a count at character ${p}`);
      const c = str.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (m > 2) x += cnts[m - 2];
    cnts[m++] = x >>> 0;
  }
  return { counts: cnts, m };
}

/** Decode a compressed counts string (see decodeCountsScratch). */
export function countsFromString(str: string): Uint32Array {
  const { counts, m } = decodeCountsScratch(str);
  return counts.slice(0, m);
}

/** Parse a compressed RLE object into an RLE. */
export function rleFromString(counts: string, h: number, w: number): RLE {
  return { h, w, counts: countsFromString(counts) };
}
