/**
 * 8-bit RGB <-> HSV exactly as OpenCV's cvtColor does for CV_8U (mmcv.bgr2hsv / hsv2bgr): H in [0, 180),
 * S and V in [0, 255]. Forward uses OpenCV's fixed-point division tables (shift 12); inverse goes through
 * float and rounds to nearest-even, as cv::saturate_cast does. Operating on RGB instead of BGR gives the same
 * H, S, V because OpenCV's hue formula names the channels, not their positions.
 */
const SHIFT = 12;
const HALF = 1 << (SHIFT - 1);
const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = Math.round((255 << SHIFT) / i);
  HDIV[i] = Math.round((180 << SHIFT) / (6 * i));
}

/** In-place RGB -> HSV on an interleaved uint8 image. */
export function rgbToHsv8(data: Uint8Array): void {
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i];
    const g = data[i + 1];
    const b = data[i + 2];
    const v = Math.max(r, g, b);
    const vmin = Math.min(r, g, b);
    const diff = v - vmin;
    const s = (diff * SDIV[v] + HALF) >> SHIFT;
    let h: number;
    if (v === r) h = g - b;
    else if (v === g) h = b - r + 2 * diff;
    else h = r - g + 4 * diff;
    h = (h * HDIV[diff] + HALF) >> SHIFT;
    if (h < 0) h += 180;
    data[i] = h;
    data[i + 1] = s;
    data[i + 2] = v;
  }
}

/** Round half to even then clamp to [0, 255] (cv::saturate_cast<uchar>(float)). */
function sat8(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  let r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  if (r < 0) r = 0;
  if (r > 255) r = 255;
  return r;
}

// Which of (v, p, q, t) feeds (r, g, b) per hue sector; OpenCV's table lists (b, g, r).
const SECTOR_RGB = [
  [0, 3, 1],
  [2, 0, 1],
  [1, 0, 3],
  [1, 2, 0],
  [3, 1, 0],
  [0, 1, 2],
];

/** In-place HSV -> RGB on an interleaved uint8 image. */
export function hsvToRgb8(data: Uint8Array): void {
  const tab = new Float32Array(4);
  for (let i = 0; i < data.length; i += 3) {
    let h = Math.fround(data[i] * Math.fround(6 / 180));
    const s = Math.fround(data[i + 1] / 255);
    const v = Math.fround(data[i + 2] / 255);
    let r: number;
    let g: number;
    let b: number;
    if (s === 0) r = g = b = v;
    else {
      let sector = Math.floor(h);
      h = Math.fround(h - sector);
      if (sector < 0 || sector >= 6) {
        sector = 0;
        h = 0;
      }
      tab[0] = v;
      tab[1] = v * (1 - s);
      tab[2] = v * (1 - s * h);
      tab[3] = v * (1 - s * (1 - h));
      const m = SECTOR_RGB[sector];
      r = tab[m[0]];
      g = tab[m[1]];
      b = tab[m[2]];
    }
    data[i] = sat8(Math.fround(r * 255));
    data[i + 1] = sat8(Math.fround(g * 255));
    data[i + 2] = sat8(Math.fround(b * 255));
  }
}
