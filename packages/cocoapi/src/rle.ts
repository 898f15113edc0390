/**
 * Run-length encoded binary masks, the in-memory form used by every mask operation.
 *
 * Semantics follow the C mask API of the COCO toolbox: pixels are visited column-major (Fortran order), the
 * first run counts zeros, runs alternate 0/1. Counts are unsigned 32-bit and every arithmetic step that the C
 * code performs on `uint` is reproduced with `>>> 0` so that results stay bit-identical, including for odd
 * inputs such as zero-length runs.
 */

/** A run-length encoded mask of size h x w with its run lengths as uint32. */
export interface RLE {
  h: number;
  w: number;
  counts: Uint32Array;
}

/** Compressed RLE as it appears in COCO JSON: `counts` is the ASCII string form. */
export interface RleObject {
  size: [number, number];
  counts: string;
}

/** Uncompressed RLE as it appears in COCO JSON (crowd annotations): plain list of run lengths. */
export interface UncompressedRle {
  size: [number, number];
  counts: number[];
}

/** A binary mask stored column-major (index = x * h + y), one byte per pixel. */
export interface BinaryMask {
  h: number;
  w: number;
  data: Uint8Array;
}

/** Run-length encode a column-major mask. Any change of byte value starts a new run, as in C. */
export function rleEncode(mask: BinaryMask): RLE {
  const { h, w, data } = mask;
  const a = h * w;
  if (data.length < a) throw new Error(`rleEncode: mask data has ${data.length} bytes, expected ${a} (h=${h}, w=${w})`);
  // First pass counts the runs so the result is allocated exactly once.
  let k = 1;
  let p = 0;
  for (let j = 0; j < a; j++) {
    const v = data[j];
    if (v !== p) {
      k++;
      p = v;
    }
  }
  const counts = new Uint32Array(k);
  k = 0;
  p = 0;
  let c = 0;
  for (let j = 0; j < a; j++) {
    const v = data[j];
    if (v !== p) {
      counts[k++] = c;
      c = 0;
      p = v;
    }
    c++;
  }
  counts[k] = c;
  return { h, w, counts };
}

/** Decode an RLE into a column-major mask of 0/1 bytes. */
export function rleDecode(rle: RLE): BinaryMask {
  const { h, w, counts } = rle;
  const n = h * w;
  const data = new Uint8Array(n);
  let pos = 0;
  let v = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (pos + c > n) throw new Error(`rleDecode: run lengths sum past h*w=${n} (size [${h}, ${w}])`);
    if (v) data.fill(1, pos, pos + c);
    pos += c;
    v ^= 1;
  }
  return { h, w, data };
}

/** Number of foreground pixels (sum of the odd runs), as uint32. */
export function rleArea(rle: RLE): number {
  const c = rle.counts;
  let a = 0;
  for (let j = 1; j < c.length; j += 2) a = (a + c[j]) >>> 0;
  return a;
}

/**
 * Union (intersect=false) or intersection of several RLEs. Masks of different sizes give an empty 0x0 RLE,
 * exactly like the C code.
 */
export function rleMerge(rles: readonly RLE[], intersect: boolean): RLE {
  const n = rles.length;
  if (n === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  const first = rles[0];
  let h = first.h;
  let w = first.w;
  if (n === 1) return { h, w, counts: first.counts.slice() };
  let cur: Uint32Array = first.counts;
  for (let i = 1; i < n; i++) {
    const B = rles[i];
    if (B.h !== h || B.w !== w) {
      h = w = 0;
      cur = new Uint32Array(0);
      break;
    }
    const A = cur;
    const out = new Uint32Array(A.length + B.counts.length + 1);
    let m = 0;
    let ca = A.length > 0 ? A[0] : 0;
    let cb = B.counts.length > 0 ? B.counts[0] : 0;
    let v = 0;
    let va = 0;
    let vb = 0;
    let a = 1;
    let b = 1;
    let cc = 0;
    let ct = 1;
    while (ct > 0) {
      const c = ca < cb ? ca : cb;
      cc += c;
      ct = 0;
      ca -= c;
      if (!ca && a < A.length) {
        ca = A[a++];
        va ^= 1;
      }
      ct += ca;
      cb -= c;
      if (!cb && b < B.counts.length) {
        cb = B.counts[b++];
        vb ^= 1;
      }
      ct += cb;
      // Run lists of unequal total length would make the C loop spin forever; fail loudly instead.
      if (ct > 0 && ((ca === 0 && a >= A.length) || (cb === 0 && b >= B.counts.length))) {
        throw new Error('rleMerge: run lengths of the masks do not sum to the same h*w');
      }
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || ct === 0) {
        out[m++] = cc;
        cc = 0;
      }
    }
    cur = out.slice(0, m);
  }
  return { h, w, counts: cur === first.counts ? cur.slice() : cur };
}

/**
 * Bounding box [x, y, w, h] of an RLE, with the C code's uint32 arithmetic (which matters for RLEs that
 * contain zero-length runs: the original maskApi.c result is reproduced, not the later fork's).
 * Writes into `out` at `offset`.
 */
export function rleToBboxInto(rle: RLE, out: Float64Array | number[], offset: number): void {
  const h = rle.h >>> 0;
  const cnts = rle.counts;
  const m = cnts.length - (cnts.length % 2);
  if (m === 0 || h === 0) {
    out[offset] = out[offset + 1] = out[offset + 2] = out[offset + 3] = 0;
    return;
  }
  let xs = rle.w >>> 0;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let cc = 0;
  let xp = 0;
  for (let j = 0; j < m; j++) {
    cc = (cc + cnts[j]) >>> 0;
    const t = (cc - (j & 1)) >>> 0;
    const y = t % h;
    const x = (t - y) / h;
    if ((j & 1) === 0) xp = x;
    else if (xp < x) {
      ys = 0;
      ye = h - 1;
    }
    if (x < xs) xs = x;
    if (x > xe) xe = x;
    if (y < ys) ys = y;
    if (y > ye) ye = y;
  }
  out[offset] = xs;
  out[offset + 2] = (xe - xs + 1) >>> 0;
  out[offset + 1] = ys;
  out[offset + 3] = (ye - ys + 1) >>> 0;
}

export function rleToBbox(rle: RLE): [number, number, number, number] {
  const bb: number[] = [0, 0, 0, 0];
  rleToBboxInto(rle, bb, 0);
  return bb as [number, number, number, number];
}

/** Exact intersection and union pixel counts of two same-sized RLEs, by walking both run lists once. */
export function rleIntersectUnion(dt: RLE, gt: RLE): { inter: number; union: number } {
  const A = dt.counts;
  const B = gt.counts;
  const ka = A.length;
  const kb = B.length;
  let ca = ka > 0 ? A[0] : 0;
  let cb = kb > 0 ? B[0] : 0;
  let va = 0;
  let vb = 0;
  let a = 1;
  let b = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    if (va | vb) {
      union += c;
      if (va & vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && a < ka) {
      ca = A[a++];
      va ^= 1;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < kb) {
      cb = B[b++];
      vb ^= 1;
    }
    ct += cb;
    if (ct > 0 && ((ca === 0 && a >= ka) || (cb === 0 && b >= kb))) {
      throw new Error('rleIou: run lengths of the two masks do not sum to the same h*w');
    }
  }
  return { inter: inter >>> 0, union: union >>> 0 };
}
