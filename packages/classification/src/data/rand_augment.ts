/**
 * RandAugment as timm's `rand_augment_transform('rand-m9-mstd0.5-inc1')` (the authors' recipe): `num_layers` ops
 * drawn uniformly with replacement from the 15 "increasing" ops, each applied with probability 0.5 at a
 * magnitude drawn from N(m, mstd) clipped to [0, 10], signs of signed ops drawn at random. The ops follow PIL's
 * definitions (ImageOps autocontrast / equalize / posterize / solarize, ImageEnhance colour / contrast /
 * brightness / sharpness, affine rotate / shear / translate filled with the ImageNet mean). Resampling of the
 * affine ops is our own bilinear interpolation at pixel centres (PIL uses its bicubic filter), so geometric
 * outputs differ from PIL's by interpolation detail; photometric ops are exact up to PIL's integer rounding.
 * Every draw comes from the sample's seeded stream. Works on 8-bit RGB HWC images (before Normalize).
 */
import { ConfigError, TRANSFORMS, type HostImage, type Rng, type Transform } from '@litv2/core';

type Img = HostImage & { data: Uint8Array };
type Op = (im: Img, level: number, rng: Rng, o: RandAugmentOptions) => Img;

export interface RandAugmentOptions {
  numLayers: number;
  magnitude: number;
  magnitudeStd: number;
  prob: number;
  /** Affine fill colour (timm: the ImageNet mean in 0-255, (124, 116, 104)). */
  fill: [number, number, number];
  /** Largest translation as a fraction of the image side (timm translate_pct 0.45). */
  translatePct: number;
}

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
const signed = (v: number, rng: Rng) => (rng.random() < 0.5 ? -v : v);
const mapLut = (im: Img, luts: Uint8Array[]): Img => {
  const out = new Uint8Array(im.data.length);
  for (let i = 0; i < out.length; i++) out[i] = luts[i % 3][im.data[i]];
  return { ...im, data: out };
};
const lutOf = (f: (v: number) => number) => Uint8Array.from({ length: 256 }, (_, v) => clip8(f(v)));

/** PIL ImageOps.autocontrast (cutoff 0): each channel stretched from its [min, max] to [0, 255]. */
function autoContrast(im: Img): Img {
  const luts = [0, 1, 2].map((c) => {
    let lo = 255;
    let hi = 0;
    for (let i = c; i < im.data.length; i += 3) {
      lo = Math.min(lo, im.data[i]);
      hi = Math.max(hi, im.data[i]);
    }
    if (hi <= lo) return lutOf((v) => v);
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    return lutOf((v) => Math.trunc(v * scale + offset));
  });
  return mapLut(im, luts);
}

/** PIL ImageOps.equalize: per channel, the cumulative histogram (without the last used level) as the map. */
function equalize(im: Img): Img {
  const luts = [0, 1, 2].map((c) => {
    const h = new Array<number>(256).fill(0);
    for (let i = c; i < im.data.length; i += 3) h[im.data[i]]++;
    const used = h.filter((x) => x > 0);
    if (used.length <= 1) return lutOf((v) => v);
    const step = Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]) / 255);
    if (!step) return lutOf((v) => v);
    let n = Math.floor(step / 2);
    const lut = new Uint8Array(256);
    for (let i = 0; i < 256; i++) {
      lut[i] = clip8(Math.floor(n / step));
      n += h[i];
    }
    return lut;
  });
  return mapLut(im, luts);
}

/** ITU-R 601-2 luma as PIL's convert('L') (integer, rounded). */
function luma(im: Img): Uint8Array {
  const n = im.width * im.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor((im.data[3 * i] * 19595 + im.data[3 * i + 1] * 38470 + im.data[3 * i + 2] * 7471 + 0x8000) / 65536);
  return out;
}

/** ImageEnhance: degenerate + factor · (image − degenerate), clipped (PIL Image.blend). */
function blend(im: Img, degenerate: (i: number) => number, factor: number): Img {
  const out = new Uint8Array(im.data.length);
  for (let i = 0; i < out.length; i++) {
    const d = degenerate(i);
    out[i] = clip8(Math.round(d + factor * (im.data[i] - d)));
  }
  return { ...im, data: out };
}

function sharpnessDegenerate(im: Img): Uint8Array {
  // PIL ImageFilter.SMOOTH: [[1,1,1],[1,5,1],[1,1,1]] / 13; the one-pixel border keeps the original values.
  const { width: w, height: h, data } = im;
  const out = data.slice();
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 4 * data[(y * w + x) * 3 + c];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += data[((y + dy) * w + x + dx) * 3 + c];
        out[(y * w + x) * 3 + c] = clip8(Math.round(s / 13));
      }
    }
  }
  return out;
}

/**
 * Affine warp: output pixel centre (x + ½, y + ½) reads the input at (a·x' + b·y' + c, d·x' + e·y' + f) (PIL's
 * inverse-matrix convention), bilinear between pixel centres; points outside the image take `fill`.
 */
function affine(im: Img, m: [number, number, number, number, number, number], fill: [number, number, number]): Img {
  const { width: w, height: h, data } = im;
  const out = new Uint8Array(data.length);
  const [a, b, c, d, e, f] = m;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = a * (x + 0.5) + b * (y + 0.5) + c;
      const v = d * (x + 0.5) + e * (y + 0.5) + f;
      const o = (y * w + x) * 3;
      if (u < 0 || v < 0 || u >= w || v >= h) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      const fx = u - 0.5;
      const fy = v - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const tx = fx - x0;
      const ty = fy - y0;
      const xa = Math.max(0, x0);
      const xb = Math.min(w - 1, x0 + 1);
      const ya = Math.max(0, y0);
      const yb = Math.min(h - 1, y0 + 1);
      for (let k = 0; k < 3; k++) {
        const top = data[(ya * w + xa) * 3 + k] * (1 - tx) + data[(ya * w + xb) * 3 + k] * tx;
        const bot = data[(yb * w + xa) * 3 + k] * (1 - tx) + data[(yb * w + xb) * 3 + k] * tx;
        out[o + k] = clip8(Math.round(top * (1 - ty) + bot * ty));
      }
    }
  }
  return { ...im, data: out };
}

/** PIL Image.rotate(degrees) about the centre (counter-clockwise for positive degrees). */
function rotate(im: Img, degrees: number, fill: [number, number, number]): Img {
  const ang = -((degrees % 360) * Math.PI) / 180;
  const [cx, cy] = [im.width / 2, im.height / 2];
  const [a, b, d, e] = [Math.cos(ang), Math.sin(ang), -Math.sin(ang), Math.cos(ang)];
  const c = a * -cx + b * -cy + cx;
  const f = d * -cx + e * -cy + cy;
  return affine(im, [a, b, c, d, e, f], fill);
}

/** The 15 ops of timm's `_RAND_INCREASING_TRANSFORMS` with their level -> argument rules (level in [0, 10]). */
export const RAND_INCREASING_OPS: Record<string, Op> = {
  AutoContrast: (im) => autoContrast(im),
  Equalize: (im) => equalize(im),
  Invert: (im) => mapLut(im, [0, 1, 2].map(() => lutOf((v) => 255 - v))),
  Rotate: (im, l, rng, o) => rotate(im, signed((l / 10) * 30, rng), o.fill),
  PosterizeIncreasing: (im, l) => {
    const bits = 4 - Math.trunc((l / 10) * 4);
    if (bits >= 8) return im;
    const mask = ~(2 ** (8 - bits) - 1) & 255;
    return mapLut(im, [0, 1, 2].map(() => lutOf((v) => v & mask)));
  },
  SolarizeIncreasing: (im, l) => {
    const thresh = 256 - Math.trunc((l / 10) * 256);
    return mapLut(im, [0, 1, 2].map(() => lutOf((v) => (v < thresh ? v : 255 - v))));
  },
  SolarizeAdd: (im, l) => {
    const add = Math.trunc((l / 10) * 110);
    return mapLut(im, [0, 1, 2].map(() => lutOf((v) => (v < 128 ? Math.min(255, v + add) : v))));
  },
  ColorIncreasing: (im, l, rng) => {
    const g = luma(im);
    return blend(im, (i) => g[Math.floor(i / 3)], 1 + signed((l / 10) * 0.9, rng));
  },
  ContrastIncreasing: (im, l, rng) => {
    const g = luma(im);
    let s = 0;
    for (const v of g) s += v;
    const mean = Math.trunc(s / g.length + 0.5);
    return blend(im, () => mean, 1 + signed((l / 10) * 0.9, rng));
  },
  BrightnessIncreasing: (im, l, rng) => blend(im, () => 0, 1 + signed((l / 10) * 0.9, rng)),
  SharpnessIncreasing: (im, l, rng) => {
    const s = sharpnessDegenerate(im);
    return blend(im, (i) => s[i], 1 + signed((l / 10) * 0.9, rng));
  },
  ShearX: (im, l, rng, o) => affine(im, [1, signed((l / 10) * 0.3, rng), 0, 0, 1, 0], o.fill),
  ShearY: (im, l, rng, o) => affine(im, [1, 0, 0, signed((l / 10) * 0.3, rng), 1, 0], o.fill),
  TranslateXRel: (im, l, rng, o) => affine(im, [1, 0, signed((l / 10) * o.translatePct, rng) * im.width, 0, 1, 0], o.fill),
  TranslateYRel: (im, l, rng, o) => affine(im, [1, 0, 0, 0, 1, signed((l / 10) * o.translatePct, rng) * im.height], o.fill),
};

/** Standard normal draw. */
function gauss(rng: Rng): number {
  const u = 1 - rng.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.random());
}

/** Applies RandAugment to one image; returns the new image and the ops that ran (for tests and logs). */
export function randAugment(im: Img, rng: Rng, o: RandAugmentOptions): { image: Img; applied: string[] } {
  const names = Object.keys(RAND_INCREASING_OPS);
  const picks = Array.from({ length: o.numLayers }, () => names[rng.int(names.length)]);
  const applied: string[] = [];
  let cur = im;
  for (const name of picks) {
    // timm draws the apply decision first, then the magnitude, for every op.
    if (o.prob < 1 && rng.random() > o.prob) continue;
    let m = o.magnitude;
    if (o.magnitudeStd > 0) m = m + o.magnitudeStd * gauss(rng);
    m = Math.min(10, Math.max(0, m));
    cur = RAND_INCREASING_OPS[name](cur, m, rng, o);
    applied.push(name);
  }
  return { image: cur, applied };
}

/** Parses timm's config string `rand-m9-mstd0.5-inc1` (only the increasing op set is implemented). */
export function parseRandAugment(spec: string): Pick<RandAugmentOptions, 'numLayers' | 'magnitude' | 'magnitudeStd'> {
  const parts = spec.split('-');
  if (parts[0] !== 'rand') throw new Error(`expected 'rand-...', got '${spec}'`);
  const o = { numLayers: 2, magnitude: 10, magnitudeStd: 0 };
  let inc = false;
  for (const p of parts.slice(1)) {
    const m = /^([a-z]+)([\d.]+)$/.exec(p);
    if (!m) throw new Error(`cannot read '${p}' in '${spec}'`);
    const v = Number(m[2]);
    if (m[1] === 'm') o.magnitude = v;
    else if (m[1] === 'n') o.numLayers = v;
    else if (m[1] === 'mstd') o.magnitudeStd = v;
    else if (m[1] === 'inc') inc = v === 1;
    else throw new Error(`unknown RandAugment key '${m[1]}' in '${spec}' (m, n, mstd, inc)`);
  }
  if (!inc) throw new Error(`only the increasing op set ('inc1', the authors' recipe) is implemented: '${spec}'`);
  return o;
}

TRANSFORMS.register('RandAugment', {
  defaults: { config_str: 'rand-m9-mstd0.5-inc1', prob: 0.5, fill: [124, 116, 104], translate_pct: 0.45 },
  build: (cfg, _ctx, origin): Transform => {
    let parsed: ReturnType<typeof parseRandAugment>;
    try {
      parsed = parseRandAugment(String(cfg.config_str));
    } catch (e) {
      throw new ConfigError((e as Error).message, { ...origin, path: `${origin.path}.config_str` });
    }
    const fill = cfg.fill as [number, number, number];
    if (!Array.isArray(fill) || fill.length !== 3) throw new ConfigError('expected 3 numbers', { ...origin, path: `${origin.path}.fill` });
    const o: RandAugmentOptions = { ...parsed, prob: Number(cfg.prob), fill, translatePct: Number(cfg.translate_pct) };
    return {
      type: 'RandAugment',
      apply(s) {
        const im = s.img;
        if (!im || !(im.data instanceof Uint8Array)) throw new Error(`RandAugment: sample '${s.info.filename}' has no 8-bit image; put RandAugment before Normalize`);
        s.img = randAugment(im as Img, s.rng, o).image;
        return s;
      },
    };
  },
});
