/**
 * Segmentation-only transforms registered in core's TRANSFORMS under their mmseg 0.13 names: RandomCrop
 * (with cat_max_ratio) and PhotoMetricDistortion. They work on host arrays and draw from the sample's own
 * random stream, in the same order as mmseg draws from numpy's.
 */
import { ConfigError, TRANSFORMS, type HostImage, type LabelMap, type Sample, type Transform } from '@litv2/core';
import { hsvToRgb8, rgbToHsv8 } from './hsv';

type Box = [number, number, number, number]; // y1, y2, x1, x2

function cropHwc<T extends Uint8Array | Float32Array>(data: T, w: number, c: number, [y1, y2, x1, x2]: Box): T {
  const ow = x2 - x1;
  const out = (data instanceof Uint8Array ? new Uint8Array((y2 - y1) * ow * c) : new Float32Array((y2 - y1) * ow * c)) as T;
  for (let y = y1; y < y2; y++) out.set(data.subarray((y * w + x1) * c, (y * w + x2) * c), (y - y1) * ow * c);
  return out;
}

export function cropImage(im: HostImage, box: Box): HostImage {
  return { data: cropHwc(im.data, im.width, im.channels, box), height: box[1] - box[0], width: box[3] - box[2], channels: im.channels };
}

export function cropLabel(m: LabelMap, box: Box): LabelMap {
  return { data: cropHwc(m.data, m.width, 1, box), height: box[1] - box[0], width: box[3] - box[2] };
}

/**
 * Whether a crop of the label map is diverse enough (mmseg): at least two non-ignored classes and none
 * covering `catMaxRatio` or more of the non-ignored pixels.
 */
export function cropIsDiverse(m: LabelMap, box: Box, catMaxRatio: number, ignoreIndex: number): boolean {
  const counts = new Float64Array(256);
  const [y1, y2, x1, x2] = box;
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) counts[m.data[y * m.width + x]]++;
  let n = 0;
  let total = 0;
  let max = 0;
  for (let v = 0; v < 256; v++) {
    if (v === ignoreIndex || counts[v] === 0) continue;
    n++;
    total += counts[v];
    if (counts[v] > max) max = counts[v];
  }
  return n > 1 && max / total < catMaxRatio;
}

/** mmseg RandomCrop: crop (h, w) at a random offset; with cat_max_ratio < 1, up to 10 re-draws for diversity. */
export class RandomCrop implements Transform {
  readonly type = 'RandomCrop';
  constructor(readonly cropSize: [number, number], readonly catMaxRatio = 1, readonly ignoreIndex = 255) {}

  private bbox(s: Sample, h: number, w: number): Box {
    const marginH = Math.max(h - this.cropSize[0], 0);
    const marginW = Math.max(w - this.cropSize[1], 0);
    const oy = s.rng.int(marginH + 1);
    const ox = s.rng.int(marginW + 1);
    // Like numpy slicing, the end is clipped to the image when the image is smaller than the crop.
    return [oy, Math.min(oy + this.cropSize[0], h), ox, Math.min(ox + this.cropSize[1], w)];
  }

  apply(s: Sample): Sample {
    if (!s.img) throw new Error(`RandomCrop: sample '${s.info.filename}' has no image`);
    const { height: h, width: w } = s.img;
    let box = this.bbox(s, h, w);
    if (this.catMaxRatio < 1) {
      const seg = s.gt_semantic_seg;
      if (!seg) throw new Error(`RandomCrop: cat_max_ratio needs gt_semantic_seg ('${s.info.filename}')`);
      // mmseg: 10 checks; after the 10th failure the crop drawn last is used unchecked.
      for (let k = 0; k < 10; k++) {
        if (cropIsDiverse(seg, box, this.catMaxRatio, this.ignoreIndex)) break;
        box = this.bbox(s, h, w);
      }
    }
    s.img = cropImage(s.img, box);
    if (s.gt_semantic_seg) s.gt_semantic_seg = cropLabel(s.gt_semantic_seg, box);
    const shape: [number, number, number] = [s.img.height, s.img.width, s.img.channels];
    s.meta = { ...s.meta, img_shape: shape, pad_shape: shape };
    return s;
  }
}

TRANSFORMS.register('RandomCrop', {
  defaults: { crop_size: undefined as unknown, cat_max_ratio: 1 as unknown, ignore_index: 255 as unknown },
  build: (cfg, _ctx, origin) => {
    const cs = cfg.crop_size;
    if (!Array.isArray(cs) || cs.length !== 2 || !cs.every((v) => Number.isInteger(v) && v > 0)) {
      throw new ConfigError(`crop_size must be [h, w] positive integers, got ${JSON.stringify(cs)}`, { ...origin, path: `${origin.path}.crop_size` });
    }
    if (typeof cfg.cat_max_ratio !== 'number') throw new ConfigError('cat_max_ratio must be a number', { ...origin, path: `${origin.path}.cat_max_ratio` });
    return new RandomCrop(cs as [number, number], cfg.cat_max_ratio, Number(cfg.ignore_index));
  },
});

/** numpy `img.astype(np.float32) * alpha + beta`, clipped to [0, 255], cast back to uint8 (truncation). */
function convert(data: Uint8Array, alpha: number, beta: number, stride = 1, offset = 0): void {
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  for (let i = offset; i < data.length; i += stride) {
    const v = Math.fround(Math.fround(data[i] * a) + b);
    data[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
}

/**
 * mmseg PhotoMetricDistortion on uint8 images, each step with probability 0.5: brightness (+U(−δ, δ)),
 * contrast (×U(lo, hi)) either second (mode 1) or last (mode 0), saturation (×U on S in HSV), hue (+randint
 * [−δ, δ) on H, mod 180). The draws happen in mmseg's order, so one stream gives one sequence of decisions.
 */
export class PhotoMetricDistortion implements Transform {
  readonly type = 'PhotoMetricDistortion';
  constructor(
    readonly brightnessDelta = 32,
    readonly contrastRange: [number, number] = [0.5, 1.5],
    readonly saturationRange: [number, number] = [0.5, 1.5],
    readonly hueDelta = 18,
  ) {}

  apply(s: Sample): Sample {
    if (!s.img) throw new Error(`PhotoMetricDistortion: sample '${s.info.filename}' has no image`);
    if (!(s.img.data instanceof Uint8Array) || s.img.channels !== 3) {
      throw new Error(`PhotoMetricDistortion: needs the uint8 RGB image (place it before Normalize) ('${s.info.filename}')`);
    }
    const data = s.img.data.slice();
    const r = s.rng;
    if (r.int(2)) convert(data, 1, r.uniform(-this.brightnessDelta, this.brightnessDelta));
    const mode = r.int(2);
    const contrast = () => {
      if (r.int(2)) convert(data, r.uniform(this.contrastRange[0], this.contrastRange[1]), 0);
    };
    if (mode === 1) contrast();
    if (r.int(2)) {
      rgbToHsv8(data);
      convert(data, r.uniform(this.saturationRange[0], this.saturationRange[1]), 0, 3, 1);
      hsvToRgb8(data);
    }
    if (r.int(2)) {
      rgbToHsv8(data);
      const delta = -this.hueDelta + r.int(2 * this.hueDelta);
      for (let i = 0; i < data.length; i += 3) data[i] = (((data[i] + delta) % 180) + 180) % 180;
      hsvToRgb8(data);
    }
    if (mode === 0) contrast();
    s.img = { ...s.img, data };
    return s;
  }
}

TRANSFORMS.register('PhotoMetricDistortion', {
  defaults: { brightness_delta: 32 as unknown, contrast_range: [0.5, 1.5] as unknown, saturation_range: [0.5, 1.5] as unknown, hue_delta: 18 as unknown },
  build: (cfg, _ctx, origin) => {
    const range = (k: string): [number, number] => {
      const v = (cfg as Record<string, unknown>)[k];
      if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number')) throw new ConfigError(`${k} must be [low, high]`, { ...origin, path: `${origin.path}.${k}` });
      return v as [number, number];
    };
    return new PhotoMetricDistortion(Number(cfg.brightness_delta), range('contrast_range'), range('saturation_range'), Number(cfg.hue_delta));
  },
});
