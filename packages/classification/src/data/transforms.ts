/**
 * The ImageNet training and test transforms of the authors' recipe (DeiT / timm `create_transform`), as
 * pipeline steps in core's TRANSFORMS registry: RandomResizedCrop, ResizeCenterCrop (test: shorter side to
 * `resize`, centre crop `crop`) and RandomErasing (after Normalize). Flip and Normalize are core's. Resizing
 * goes through sharp (libvips, off the JS thread); every random draw comes from the sample's seeded stream.
 */
import sharp from 'sharp';
import { ConfigError, TRANSFORMS, type ConfigOrigin, type HostImage, type Rng, type Sample, type Transform } from '@litv2/core';

const INTERPOLATIONS = { bicubic: 'cubic', bilinear: 'linear', nearest: 'nearest' } as const;
type Interpolation = keyof typeof INTERPOLATIONS;

function interpolationOf(v: unknown, origin: ConfigOrigin): Interpolation {
  if (typeof v !== 'string' || !(v in INTERPOLATIONS)) throw new ConfigError(`expected one of ${Object.keys(INTERPOLATIONS).join(', ')}, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.interpolation` });
  return v as Interpolation;
}

function pairOf(v: unknown, key: string, origin: ConfigOrigin): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number') || v[0] > v[1]) {
    throw new ConfigError(`expected [low, high] numbers, got ${JSON.stringify(v)}`, { ...origin, path: `${origin.path}.${key}` });
  }
  return [v[0], v[1]];
}

function uint8Image(s: Sample, step: string): HostImage & { data: Uint8Array } {
  const im = s.img;
  if (!im) throw new Error(`${step}: sample '${s.info.filename}' has no image (missing LoadImageFromFile?)`);
  if (!(im.data instanceof Uint8Array)) throw new Error(`${step}: sample '${s.info.filename}' is already normalised; put ${step} before Normalize`);
  return im as HostImage & { data: Uint8Array };
}

/** Crops [top, left, h, w] out of an 8-bit RGB image and resizes it to outH x outW (libvips). */
export async function cropResize(im: HostImage & { data: Uint8Array }, box: [number, number, number, number], outH: number, outW: number, interp: Interpolation): Promise<HostImage> {
  const [top, left, h, w] = box;
  const src = Buffer.from(im.data.buffer, im.data.byteOffset, im.data.length);
  let p = sharp(src, { raw: { width: im.width, height: im.height, channels: 3 } });
  if (top !== 0 || left !== 0 || h !== im.height || w !== im.width) p = p.extract({ left, top, width: w, height: h });
  if (h !== outH || w !== outW) p = p.resize(outW, outH, { kernel: INTERPOLATIONS[interp], fit: 'fill' });
  const out = await p.raw().toBuffer();
  return { data: new Uint8Array(out.buffer, out.byteOffset, out.length), height: outH, width: outW, channels: 3 };
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 tries of an area fraction in `scale` and a log-uniform
 * aspect ratio in `ratio`; otherwise the whole image cropped centrally to the nearest allowed ratio.
 * Returns [top, left, h, w].
 */
export function randomResizedCropBox(height: number, width: number, scale: [number, number], ratio: [number, number], rng: Rng): [number, number, number, number] {
  const area = height * width;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const ar = Math.exp(rng.uniform(logR[0], logR[1]));
    const w = Math.round(Math.sqrt(target * ar));
    const h = Math.round(Math.sqrt(target / ar));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return [top, left, h, w];
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

TRANSFORMS.register('RandomResizedCrop', {
  defaults: { size: 224, scale: [0.08, 1.0], ratio: [3 / 4, 4 / 3], interpolation: 'bicubic' },
  build: (cfg, _ctx, origin): Transform => {
    const size = cfg.size as number;
    if (!Number.isInteger(size) || size < 1) throw new ConfigError(`expected a positive integer, got ${JSON.stringify(size)}`, { ...origin, path: `${origin.path}.size` });
    const scale = pairOf(cfg.scale, 'scale', origin);
    const ratio = pairOf(cfg.ratio, 'ratio', origin);
    const interp = interpolationOf(cfg.interpolation, origin);
    return {
      type: 'RandomResizedCrop',
      async apply(s) {
        const im = uint8Image(s, 'RandomResizedCrop');
        const box = randomResizedCropBox(im.height, im.width, scale, ratio, s.rng);
        s.img = await cropResize(im, box, size, size, interp);
        const shape: [number, number, number] = [size, size, 3];
        s.meta = { ...s.meta, img_shape: shape, pad_shape: shape };
        return s;
      },
    };
  },
});

/** Python's round() (half to even), which torchvision's CenterCrop uses for the offsets. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/**
 * The test transform: torchvision `Resize(resize)` (shorter side to `resize`, longer side scaled and
 * truncated) then `CenterCrop(crop)`; an image already at crop x crop is used as is.
 */
export async function resizeCenterCrop(im: HostImage & { data: Uint8Array }, resize: number, crop: number, interp: Interpolation, file: string): Promise<HostImage> {
  if (im.width === crop && im.height === crop) return im;
  const [nw, nh] = im.width <= im.height ? [resize, Math.floor((resize * im.height) / im.width)] : [Math.floor((resize * im.width) / im.height), resize];
  if (nw < crop || nh < crop) throw new Error(`${file}: resized image ${nw}x${nh} is smaller than the ${crop} crop`);
  const resized = await cropResize(im, [0, 0, im.height, im.width], nh, nw, interp);
  const top = roundHalfEven((nh - crop) / 2);
  const left = roundHalfEven((nw - crop) / 2);
  const out = new Uint8Array(crop * crop * 3);
  for (let y = 0; y < crop; y++) out.set(resized.data.subarray(((top + y) * nw + left) * 3, ((top + y) * nw + left + crop) * 3), y * crop * 3);
  return { data: out, height: crop, width: crop, channels: 3 };
}

TRANSFORMS.register('ResizeCenterCrop', {
  defaults: { resize: 256, crop: 224, interpolation: 'bicubic' },
  build: (cfg, _ctx, origin): Transform => {
    for (const k of ['resize', 'crop'] as const) {
      if (!Number.isInteger(cfg[k]) || (cfg[k] as number) < 1) throw new ConfigError(`expected a positive integer, got ${JSON.stringify(cfg[k])}`, { ...origin, path: `${origin.path}.${k}` });
    }
    const resize = cfg.resize as number;
    const crop = cfg.crop as number;
    if (crop > resize) throw new ConfigError(`crop ${crop} is larger than resize ${resize}`, { ...origin, path: `${origin.path}.crop` });
    const interp = interpolationOf(cfg.interpolation, origin);
    return {
      type: 'ResizeCenterCrop',
      async apply(s) {
        const im = uint8Image(s, 'ResizeCenterCrop');
        s.img = await resizeCenterCrop(im, resize, crop, interp, s.meta.filename);
        const shape: [number, number, number] = [crop, crop, 3];
        s.meta = { ...s.meta, img_shape: shape, pad_shape: shape };
        return s;
      },
    };
  },
});

/** Standard normal draw (Box-Muller) from a data stream. */
export function normal(rng: Rng): number {
  const u = 1 - rng.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.random());
}

/**
 * timm `RandomErasing` (mode 'pixel', one region), applied to the normalised image: with probability `prob`,
 * up to 10 tries of an area fraction in [min_area, max_area] and a log-uniform aspect in [min_aspect, 1/min_aspect];
 * the first box that fits is filled with per-pixel standard-normal noise.
 */
export function randomErase(im: HostImage & { data: Float32Array }, rng: Rng, o: { prob: number; minArea: number; maxArea: number; minAspect: number }): boolean {
  if (rng.random() >= o.prob) return false;
  const area = im.height * im.width;
  const logR = [Math.log(o.minAspect), Math.log(1 / o.minAspect)];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(o.minArea, o.maxArea);
    const ar = Math.exp(rng.uniform(logR[0], logR[1]));
    const h = Math.round(Math.sqrt(target * ar));
    const w = Math.round(Math.sqrt(target / ar));
    if (w < im.width && h < im.height) {
      const top = rng.int(im.height - h + 1);
      const left = rng.int(im.width - w + 1);
      for (let y = top; y < top + h; y++) {
        for (let x = left; x < left + w; x++) for (let c = 0; c < im.channels; c++) im.data[(y * im.width + x) * im.channels + c] = normal(rng);
      }
      return true;
    }
  }
  return false;
}

TRANSFORMS.register('RandomErasing', {
  defaults: { prob: 0.25, min_area: 0.02, max_area: 1 / 3, min_aspect: 0.3, mode: 'pixel' },
  build: (cfg, _ctx, origin): Transform => {
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    for (const k of ['prob', 'min_area', 'max_area', 'min_aspect'] as const) if (typeof cfg[k] !== 'number') throw new ConfigError(`expected a number, got ${JSON.stringify(cfg[k])}`, at(k));
    if (cfg.mode !== 'pixel') throw new ConfigError(`only mode 'pixel' (per-pixel normal noise, the recipe's) is implemented, got ${JSON.stringify(cfg.mode)}`, at('mode'));
    const o = { prob: cfg.prob as number, minArea: cfg.min_area as number, maxArea: cfg.max_area as number, minAspect: cfg.min_aspect as number };
    return {
      type: 'RandomErasing',
      apply(s) {
        const im = s.img;
        if (!im || !(im.data instanceof Float32Array)) throw new Error(`RandomErasing: sample '${s.info.filename}' is not normalised; put RandomErasing after Normalize`);
        randomErase(im as HostImage & { data: Float32Array }, s.rng, o);
        return s;
      },
    };
  },
});
