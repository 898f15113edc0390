/**
 * Shared transforms, registered under their mmdet v2 / mmseg v0 type names. They act on host arrays and keep
 * the `meta` bookkeeping (img_shape, pad_shape, scale_factor, flip) that evaluation needs to map predictions
 * back to the original image. Boxes (`gt_bboxes`, `gt_bboxes_ignore`), polygons (`gt_masks`) and label maps
 * (`gt_semantic_seg`) are updated here; other task fields through `registerFieldHandler`.
 *
 * The file-loading transforms (LoadImageFromFile, LoadAnnotations) are Node-only: data/loading.ts.
 *
 * Pixels are RGB after LoadImageFromFile (sharp decodes to RGB), so Normalize's `to_rgb: true` (mmdet's
 * default, meaning "the model wants RGB") is a no-op and `to_rgb: false` converts to BGR.
 */
import { ConfigError, type ConfigOrigin } from '../registry/registry';
import { FIELD_HANDLERS, TRANSFORMS, applyPipeline, buildPipeline } from './pipeline';
import { flipImage, resizeBilinear, resizeNearest, resizeNearestLabel, rescaleSize } from './resize';
import type { HostImage, LabelMap, Sample, Transform } from './types';

type Scale = [number, number];
type Direction = 'horizontal' | 'vertical' | 'diagonal';

function asScaleList(v: unknown, origin: ConfigOrigin, key: string): Scale[] | undefined {
  if (v === undefined || v === null) return undefined;
  const bad = () => new ConfigError(`'${key}' must be [w, h] or a list of [w, h]`, { ...origin, path: `${origin.path}.${key}` });
  if (!Array.isArray(v)) throw bad();
  if (v.length === 2 && typeof v[0] === 'number') return [[v[0], v[1] as number]];
  return v.map((s) => {
    if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'number' || typeof s[1] !== 'number') throw bad();
    return [s[0], s[1]] as Scale;
  });
}

/** mmseg reduce_zero_label: 0 (background / "other") becomes 255 (ignored), every other class shifts down by 1. */
export function reduceZeroLabel(map: LabelMap): LabelMap {
  const d = map.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] === 0 || d[i] === 255 ? 255 : d[i] - 1;
  return map;
}

// ---------------------------------------------------------------- geometry

function scaleBoxes(b: Float32Array, sx: number, sy: number, clip: [number, number] | undefined): Float32Array {
  const out = new Float32Array(b.length);
  for (let i = 0; i < b.length; i += 4) {
    out[i] = b[i] * sx;
    out[i + 1] = b[i + 1] * sy;
    out[i + 2] = b[i + 2] * sx;
    out[i + 3] = b[i + 3] * sy;
    if (clip) {
      const [h, w] = clip;
      out[i] = Math.min(Math.max(out[i], 0), w);
      out[i + 2] = Math.min(Math.max(out[i + 2], 0), w);
      out[i + 1] = Math.min(Math.max(out[i + 1], 0), h);
      out[i + 3] = Math.min(Math.max(out[i + 3], 0), h);
    }
  }
  return out;
}

/** Resizes image, boxes, polygons and label map of a sample to (newH, newW). */
export function resizeSample(s: Sample, newH: number, newW: number, opts: { clipBoxes: boolean; interpolation?: 'bilinear' | 'nearest' }): void {
  if (!s.img) throw new Error(`Resize: sample '${s.info.filename}' has no image`);
  const { height: h, width: w } = s.img;
  const sx = newW / w;
  const sy = newH / h;
  s.img = opts.interpolation === 'nearest' ? resizeNearest(s.img, newH, newW) : resizeBilinear(s.img, newH, newW);
  const shape: [number, number, number] = [newH, newW, s.img.channels];
  s.meta = { ...s.meta, img_shape: shape, pad_shape: shape, scale_factor: [sx, sy, sx, sy] };
  const clip: [number, number] | undefined = opts.clipBoxes ? [newH, newW] : undefined;
  if (s.gt_bboxes) s.gt_bboxes = scaleBoxes(s.gt_bboxes, sx, sy, clip);
  if (s.gt_bboxes_ignore) s.gt_bboxes_ignore = scaleBoxes(s.gt_bboxes_ignore, sx, sy, clip);
  if (s.gt_masks) s.gt_masks = s.gt_masks.map((inst) => inst.map((ring) => ring.map((v, i) => (i % 2 === 0 ? v * sx : v * sy))));
  if (s.gt_semantic_seg) s.gt_semantic_seg = resizeNearestLabel(s.gt_semantic_seg, newH, newW);
  for (const [name, hnd] of FIELD_HANDLERS) {
    if (name in s.extra && hnd.resize) s.extra[name] = hnd.resize(s.extra[name], { scaleFactor: [sx, sy], newHeight: newH, newWidth: newW, sample: s });
  }
}

TRANSFORMS.register('Resize', {
  defaults: {
    img_scale: undefined as unknown,
    multiscale_mode: 'range',
    ratio_range: undefined as unknown,
    keep_ratio: true,
    bbox_clip_border: true,
    backend: 'cv2',
    override: false,
    interpolation: 'bilinear',
  },
  build: (cfg, _ctx, origin): Transform => {
    const scales = asScaleList(cfg.img_scale, origin, 'img_scale');
    const ratio = cfg.ratio_range as [number, number] | undefined;
    if (ratio && (!Array.isArray(ratio) || ratio.length !== 2)) throw new ConfigError(`'ratio_range' must be [min, max]`, { ...origin, path: `${origin.path}.ratio_range` });
    if (ratio && scales && scales.length !== 1) throw new ConfigError(`ratio_range needs exactly one img_scale`, { ...origin, path: `${origin.path}.img_scale` });
    const mode = String(cfg.multiscale_mode);
    if (mode !== 'range' && mode !== 'value') throw new ConfigError(`multiscale_mode must be 'range' or 'value'`, { ...origin, path: `${origin.path}.multiscale_mode` });
    return {
      type: 'Resize',
      apply(s) {
        if (!s.img) throw new Error(`Resize: sample '${s.info.filename}' has no image (LoadImageFromFile first)`);
        let scale: Scale;
        if (s.meta.scale && !scales) scale = s.meta.scale; // set by MultiScaleFlipAug
        else if (!scales) throw new ConfigError(`Resize needs img_scale (or an enclosing MultiScaleFlipAug)`, origin);
        else if (ratio) {
          // mmdet/mmseg random_sample_ratio: scale the base scale by a uniform ratio, truncating to int.
          const r = s.rng.uniform(Math.min(...ratio), Math.max(...ratio));
          scale = [Math.trunc(scales[0][0] * r), Math.trunc(scales[0][1] * r)];
        } else if (scales.length === 1) scale = scales[0];
        else if (mode === 'value') scale = scales[s.rng.int(scales.length)];
        else {
          // random_sample: long edge and short edge each drawn uniformly between the given extremes.
          const longs = scales.map((x) => Math.max(...x));
          const shorts = scales.map((x) => Math.min(...x));
          const long = Math.min(...longs) + s.rng.int(Math.max(...longs) + 1 - Math.min(...longs));
          const short = Math.min(...shorts) + s.rng.int(Math.max(...shorts) + 1 - Math.min(...shorts));
          scale = [long, short];
        }
        const { height: h, width: w } = s.img;
        let newW: number;
        let newH: number;
        if (cfg.keep_ratio) [newW, newH] = rescaleSize(w, h, scale);
        else [newW, newH] = scale;
        resizeSample(s, newH, newW, { clipBoxes: Boolean(cfg.bbox_clip_border), interpolation: cfg.interpolation === 'nearest' ? 'nearest' : 'bilinear' });
        s.meta.scale = scale;
        s.meta.keep_ratio = Boolean(cfg.keep_ratio);
        return s;
      },
    };
  },
});

function flipBoxes(b: Float32Array, dir: Direction, h: number, w: number): Float32Array {
  const out = b.slice();
  for (let i = 0; i < b.length; i += 4) {
    if (dir !== 'vertical') {
      out[i] = w - b[i + 2];
      out[i + 2] = w - b[i];
    }
    if (dir !== 'horizontal') {
      out[i + 1] = h - b[i + 3];
      out[i + 3] = h - b[i + 1];
    }
  }
  return out;
}

/** Flips image, boxes, polygons, label map and registered fields of a sample. */
export function flipSample(s: Sample, dir: Direction): void {
  if (!s.img) throw new Error(`RandomFlip: sample '${s.info.filename}' has no image`);
  const [h, w] = s.meta.img_shape;
  s.img = flipImage(s.img, dir);
  if (s.gt_bboxes) s.gt_bboxes = flipBoxes(s.gt_bboxes, dir, h, w);
  if (s.gt_bboxes_ignore) s.gt_bboxes_ignore = flipBoxes(s.gt_bboxes_ignore, dir, h, w);
  if (s.gt_masks) {
    s.gt_masks = s.gt_masks.map((inst) =>
      inst.map((ring) => ring.map((v, i) => (i % 2 === 0 ? (dir !== 'vertical' ? w - v : v) : dir !== 'horizontal' ? h - v : v))),
    );
  }
  if (s.gt_semantic_seg) s.gt_semantic_seg = flipImage(s.gt_semantic_seg, dir);
  for (const [name, hnd] of FIELD_HANDLERS) {
    if (name in s.extra && hnd.flip) s.extra[name] = hnd.flip(s.extra[name], { direction: dir, height: h, width: w, sample: s });
  }
}

TRANSFORMS.register('RandomFlip', {
  defaults: { flip_ratio: undefined as unknown, prob: undefined as unknown, direction: 'horizontal' },
  build: (cfg, _ctx, origin): Transform => {
    const ratio = (cfg.flip_ratio ?? cfg.prob ?? 0) as number;
    const dir = cfg.direction as Direction;
    if (!['horizontal', 'vertical', 'diagonal'].includes(dir)) throw new ConfigError(`unknown flip direction '${String(dir)}'`, { ...origin, path: `${origin.path}.direction` });
    if (typeof ratio !== 'number' || ratio < 0 || ratio > 1) throw new ConfigError(`flip ratio must be in [0, 1]`, { ...origin, path: `${origin.path}.flip_ratio` });
    return {
      type: 'RandomFlip',
      apply(s) {
        // One draw per sample, always, so the random stream does not depend on the outcome.
        const flip = s.rng.random() < ratio;
        s.meta.flip = flip;
        if (flip) {
          s.meta.flip_direction = dir;
          flipSample(s, dir);
        }
        return s;
      },
    };
  },
});

/** Pads image (value `imgVal`), label map (`segVal`) and polygons' frame bottom/right to (ph, pw). */
export function padSample(s: Sample, ph: number, pw: number, imgVal: number, segVal: number): void {
  if (!s.img) throw new Error(`Pad: sample '${s.info.filename}' has no image`);
  const im = s.img;
  if (ph < im.height || pw < im.width) throw new Error(`Pad: target ${ph}x${pw} is smaller than image ${im.height}x${im.width} ('${s.info.filename}')`);
  s.img = padHwc(im, ph, pw, imgVal);
  if (s.gt_semantic_seg) {
    const m = s.gt_semantic_seg;
    const p = padHwc({ data: m.data, height: m.height, width: m.width, channels: 1 }, ph, pw, segVal);
    s.gt_semantic_seg = { data: p.data as Uint8Array, height: ph, width: pw };
  }
  s.meta = { ...s.meta, pad_shape: [ph, pw, im.channels] };
  for (const [name, hnd] of FIELD_HANDLERS) {
    if (name in s.extra && hnd.pad) s.extra[name] = hnd.pad(s.extra[name], { padHeight: ph, padWidth: pw, sample: s });
  }
}

function padHwc(im: HostImage, ph: number, pw: number, val: number): HostImage {
  if (ph === im.height && pw === im.width) return im;
  const c = im.channels;
  const out = im.data instanceof Uint8Array ? new Uint8Array(ph * pw * c) : new Float32Array(ph * pw * c);
  if (val !== 0) out.fill(val);
  for (let y = 0; y < im.height; y++) out.set(im.data.subarray(y * im.width * c, (y + 1) * im.width * c), y * pw * c);
  return { data: out, height: ph, width: pw, channels: c };
}

TRANSFORMS.register('Pad', {
  defaults: { size: undefined as unknown, size_divisor: undefined as unknown, pad_val: 0, seg_pad_val: 255, pad_to_square: false },
  build: (cfg, _ctx, origin): Transform => {
    const size = cfg.size as [number, number] | undefined;
    const div = cfg.size_divisor as number | undefined;
    if ((size === undefined) === (div === undefined) && !cfg.pad_to_square) throw new ConfigError(`Pad needs exactly one of 'size' and 'size_divisor'`, origin);
    return {
      type: 'Pad',
      apply(s) {
        if (!s.img) throw new Error(`Pad: sample '${s.info.filename}' has no image`);
        let ph = s.img.height;
        let pw = s.img.width;
        if (cfg.pad_to_square) ph = pw = Math.max(ph, pw);
        if (size) [ph, pw] = size; // mmcv impad shape is (h, w)
        if (div) {
          ph = Math.ceil(ph / div) * div;
          pw = Math.ceil(pw / div) * div;
        }
        padSample(s, ph, pw, Number(cfg.pad_val), Number(cfg.seg_pad_val));
        s.extra.pad_fixed_size = size ?? null;
        s.extra.pad_size_divisor = div ?? null;
        return s;
      },
    };
  },
});

// ---------------------------------------------------------------- photometric

TRANSFORMS.register('Normalize', {
  defaults: { mean: undefined as unknown, std: undefined as unknown, to_rgb: true },
  build: (cfg, _ctx, origin): Transform => {
    const mean = cfg.mean as number[];
    const std = cfg.std as number[];
    for (const [k, v] of [['mean', mean], ['std', std]] as const) {
      if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number')) throw new ConfigError(`'${k}' must be a list of 3 numbers`, { ...origin, path: `${origin.path}.${k}` });
    }
    const toRgb = Boolean(cfg.to_rgb);
    const inv = std.map((x) => 1 / x);
    return {
      type: 'Normalize',
      apply(s) {
        if (!s.img) throw new Error(`Normalize: sample '${s.info.filename}' has no image`);
        const src = s.img.data;
        const n = s.img.height * s.img.width;
        const out = new Float32Array(n * 3);
        // Pixels are RGB; a model trained on BGR input (to_rgb false) gets the channels swapped.
        const order = toRgb ? [0, 1, 2] : [2, 1, 0];
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < 3; k++) out[i * 3 + k] = (src[i * 3 + order[k]] - mean[k]) * inv[k];
        }
        s.img = { ...s.img, data: out };
        s.meta.img_norm_cfg = { mean: [...mean], std: [...std], to_rgb: toRgb };
        return s;
      },
    };
  },
});

// ---------------------------------------------------------------- formatting (no-ops: collate does this)

for (const type of ['DefaultFormatBundle', 'ImageToTensor', 'Collect']) {
  TRANSFORMS.register(type, {
    defaults: { keys: undefined as unknown, meta_keys: undefined as unknown },
    build: (): Transform => ({ type, apply: (s) => s }),
  });
}

// ---------------------------------------------------------------- test-time wrapper

TRANSFORMS.register('MultiScaleFlipAug', {
  defaults: { img_scale: undefined as unknown, img_ratios: undefined as unknown, flip: false, flip_direction: 'horizontal', transforms: [] as unknown },
  build: (cfg, ctx, origin): Transform => {
    const scales = asScaleList(cfg.img_scale, origin, 'img_scale');
    if (!scales || scales.length !== 1 || cfg.flip || cfg.img_ratios) {
      throw new ConfigError(`only single-scale, no-flip MultiScaleFlipAug is supported (one img_scale, flip false, no img_ratios)`, origin);
    }
    const inner = buildPipeline(cfg.transforms, { ...origin, path: `${origin.path}.transforms` }, ctx);
    return {
      type: 'MultiScaleFlipAug',
      apply(s) {
        s.meta.scale = scales[0];
        s.meta.flip = false;
        return applyPipeline(inner, s);
      },
    };
  },
});

/** Registered type names (for docs and tests). */
export function transformTypes(): string[] {
  return TRANSFORMS.types();
}

