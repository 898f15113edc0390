/**
 * Host-side resizing with OpenCV semantics (what mmcv.imresize uses): bilinear with half-pixel centres and
 * edge clamping (cv2.INTER_LINEAR, no antialiasing), nearest with src = floor(dst * src_size / dst_size)
 * (cv2.INTER_NEAREST). Coefficients are precomputed per row/column; this runs in the data pipeline, not in a
 * training step.
 */
import type { HostImage, LabelMap } from './types';

function linearTaps(src: number, dst: number): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const scale = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Float32Array(dst);
  for (let d = 0; d < dst; d++) {
    let s = (d + 0.5) * scale - 0.5;
    let f: number;
    let k = Math.floor(s);
    f = s - k;
    if (k < 0) {
      k = 0;
      f = 0;
    }
    if (k >= src - 1) {
      k = src - 1;
      f = 0;
    }
    i0[d] = k;
    i1[d] = Math.min(k + 1, src - 1);
    w1[d] = f;
    s = 0;
  }
  return { i0, i1, w1 };
}

/** Bilinear resize of an HWC image to (height, width); uint8 input gives rounded uint8 output. */
export function resizeBilinear(img: HostImage, height: number, width: number): HostImage {
  if (height === img.height && width === img.width) return { ...img, data: img.data.slice() };
  const c = img.channels;
  const ys = linearTaps(img.height, height);
  const xs = linearTaps(img.width, width);
  const src = img.data;
  const out = src instanceof Uint8Array ? new Uint8Array(height * width * c) : new Float32Array(height * width * c);
  const round = src instanceof Uint8Array;
  const sw = img.width * c;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y] * sw;
    const r1 = ys.i1[y] * sw;
    const fy = ys.w1[y];
    const o = y * width * c;
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x] * c;
      const c1 = xs.i1[x] * c;
      const fx = xs.w1[x];
      for (let k = 0; k < c; k++) {
        const top = src[r0 + c0 + k] * (1 - fx) + src[r0 + c1 + k] * fx;
        const bot = src[r1 + c0 + k] * (1 - fx) + src[r1 + c1 + k] * fx;
        const v = top * (1 - fy) + bot * fy;
        out[o + x * c + k] = round ? Math.min(255, Math.max(0, Math.round(v))) : v;
      }
    }
  }
  return { data: out, height, width, channels: c };
}

function nearestIndex(src: number, dst: number): Int32Array {
  const scale = src / dst;
  const idx = new Int32Array(dst);
  for (let d = 0; d < dst; d++) idx[d] = Math.min(Math.floor(d * scale), src - 1);
  return idx;
}

/** Nearest-neighbour resize of a label map (class ids are never blended). */
export function resizeNearestLabel(map: LabelMap, height: number, width: number): LabelMap {
  const ys = nearestIndex(map.height, height);
  const xs = nearestIndex(map.width, width);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const r = ys[y] * map.width;
    for (let x = 0; x < width; x++) out[y * width + x] = map.data[r + xs[x]];
  }
  return { data: out, height, width };
}

/** Nearest-neighbour resize of an HWC image. */
export function resizeNearest(img: HostImage, height: number, width: number): HostImage {
  const c = img.channels;
  const ys = nearestIndex(img.height, height);
  const xs = nearestIndex(img.width, width);
  const out = img.data instanceof Uint8Array ? new Uint8Array(height * width * c) : new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const r = ys[y] * img.width * c;
    for (let x = 0; x < width; x++) for (let k = 0; k < c; k++) out[(y * width + x) * c + k] = img.data[r + xs[x] * c + k];
  }
  return { data: out, height, width, channels: c };
}

/** mmcv.rescale_size: the keep-ratio size fitting (long, short) edges; returns [newW, newH, factor]. */
export function rescaleSize(w: number, h: number, scale: [number, number] | number): [number, number, number] {
  let factor: number;
  if (typeof scale === 'number') factor = scale;
  else {
    const long = Math.max(...scale);
    const short = Math.min(...scale);
    factor = Math.min(long / Math.max(h, w), short / Math.min(h, w));
  }
  return [Math.trunc(w * factor + 0.5), Math.trunc(h * factor + 0.5), factor];
}

/** Horizontal / vertical flip of an HWC image or label map (returns a copy). */
export function flipImage<T extends HostImage | LabelMap>(img: T, direction: 'horizontal' | 'vertical' | 'diagonal'): T {
  const c = 'channels' in img ? img.channels : 1;
  const { height: h, width: w } = img;
  const src = img.data;
  const out = src instanceof Uint8Array ? new Uint8Array(src.length) : new Float32Array(src.length);
  const fx = direction !== 'vertical';
  const fy = direction !== 'horizontal';
  for (let y = 0; y < h; y++) {
    const sy = fy ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = fx ? w - 1 - x : x;
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = src[(sy * w + sx) * c + k];
    }
  }
  return { ...img, data: out };
}
