/**
 * Polygon and box rasterisation into RLE, reproducing the C mask API bit for bit.
 *
 * The C code upsamples vertices by 5, walks every edge at that resolution, keeps the points where the edge
 * crosses a pixel-column centre and turns those boundary points straight into run lengths. All conversions
 * there are C casts (truncation toward zero), which differ from Math.round/floor for negative values; `trunc`
 * below is used wherever the C code casts a double to int.
 */
import type { RLE } from './rle';

const SCALE = 5;

/** C `(int)` of a double: truncation toward zero, NaN -> 0 (x86 gives INT_MIN; that point is never used). */
function trunc(v: number): number {
  return v < 0 ? Math.ceil(v) : Math.floor(v) || 0;
}

/**
 * Rasterise one polygon given as [x0, y0, x1, y1, ...] (an odd trailing coordinate is ignored, as in
 * pycocotools) into an h x w RLE.
 */
export function rleFrPoly(xy: ArrayLike<number>, h: number, w: number): RLE {
  const k = Math.floor(xy.length / 2);
  if (k === 0) return { h, w, counts: Uint32Array.of((h * w) >>> 0) };
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) {
    x[j] = trunc(SCALE * xy[2 * j] + 0.5);
    y[j] = trunc(SCALE * xy[2 * j + 1] + 0.5);
  }
  x[k] = x[0];
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs;
      xs = xe;
      xe = t;
      t = ys;
      ys = ye;
      ye = t;
    }
    // 0/0 for a degenerate edge gives NaN, as in C; its single point never becomes a boundary point.
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Keep the points where x crosses a pixel centre, downsample to pixel coordinates.
  const total = m;
  // C compares against the unsigned w-1, which wraps for w == 0.
  const xMax = w === 0 ? Infinity : w - 1;
  const bx = new Int32Array(total);
  const by = new Int32Array(total);
  m = 0;
  for (let j = 1; j < total; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > xMax) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bx[m] = xd;
    by[m] = yd;
    m++;
  }
  // Boundary points -> sorted linear indices -> run lengths.
  const a = new Uint32Array(m + 1);
  for (let j = 0; j < m; j++) a[j] = (bx[j] * h + by[j]) >>> 0;
  a[m] = (h * w) >>> 0;
  a.sort();
  let p = 0;
  for (let j = 0; j <= m; j++) {
    const t = a[j];
    a[j] = (a[j] - p) >>> 0;
    p = t;
  }
  // Zero-length runs are folded into their neighbours.
  const kk = m + 1;
  const b = new Uint32Array(kk);
  let j = 0;
  let n = 0;
  b[n++] = a[j++];
  while (j < kk) {
    if (a[j] > 0) b[n++] = a[j++];
    else {
      j++;
      if (j < kk) b[n - 1] += a[j++];
    }
  }
  return { h, w, counts: b.slice(0, n) };
}

/** Rasterise a box [x, y, w, h] as the 4-vertex polygon the C code builds from it. */
export function rleFrBbox(bb: ArrayLike<number>, h: number, w: number): RLE {
  const xs = bb[0];
  const xe = xs + bb[2];
  const ys = bb[1];
  const ye = ys + bb[3];
  return rleFrPoly([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}
