import { ConfigError, PRIOR_GENERATORS, type ConfigNode, type ConfigOrigin } from '@litv2/core';

const f32 = Math.fround;

export interface AnchorGeneratorConfig {
  type?: 'AnchorGenerator';
  strides: (number | [number, number])[];
  ratios: number[];
  scales?: number[];
  base_sizes?: number[];
  scale_major?: boolean;
  octave_base_scale?: number;
  scales_per_octave?: number;
  centers?: [number, number][] | null;
  center_offset?: number;
}

/**
 * mmdet 2.11 `AnchorGenerator`: per level, `A = len(ratios)·len(scales)` base anchors centred on
 * `center_offset·stride` (0, so anchor centres sit on grid points `x·stride`), laid out (y, x, a).
 * Arithmetic is done in float32 (Math.fround) in the same order as PyTorch so anchors match bit for bit.
 * Anchors depend only on feature-map sizes, so they are computed once on the CPU and cached.
 */
export class AnchorGenerator {
  readonly strides: [number, number][];
  readonly baseSizes: number[];
  readonly scales: Float32Array;
  readonly ratios: Float32Array;
  readonly scaleMajor: boolean;
  readonly centerOffset: number;
  readonly centers: [number, number][] | null;
  readonly baseAnchors: Float32Array[];
  private readonly cache = new Map<string, Float32Array[]>();

  constructor(cfg: AnchorGeneratorConfig, origin: ConfigOrigin = { path: 'anchor_generator' }) {
    if (!Array.isArray(cfg.strides) || cfg.strides.length === 0) throw new ConfigError(`strides must be a non-empty list`, { ...origin, path: `${origin.path}.strides` });
    this.strides = cfg.strides.map((s) => (Array.isArray(s) ? [s[0], s[1]] : [s, s]));
    this.centerOffset = cfg.center_offset ?? 0;
    this.centers = cfg.centers ?? null;
    if (this.centers && this.centers.length !== this.strides.length) throw new ConfigError(`centers must have one entry per stride`, { ...origin, path: `${origin.path}.centers` });
    if (this.centers && this.centerOffset !== 0) throw new ConfigError(`center_offset must be 0 when centers are given`, { ...origin, path: `${origin.path}.center_offset` });
    if (this.centerOffset < 0 || this.centerOffset > 1) throw new ConfigError(`center_offset must be in [0, 1], got ${this.centerOffset}`, { ...origin, path: `${origin.path}.center_offset` });
    this.baseSizes = cfg.base_sizes ?? this.strides.map(([sw, sh]) => Math.min(sw, sh));
    if (this.baseSizes.length !== this.strides.length) throw new ConfigError(`base_sizes must have one entry per stride`, { ...origin, path: `${origin.path}.base_sizes` });
    const hasOctave = cfg.octave_base_scale !== undefined && cfg.octave_base_scale !== null && cfg.scales_per_octave !== undefined && cfg.scales_per_octave !== null;
    if (cfg.scales && hasOctave) throw new ConfigError(`give either scales or octave_base_scale + scales_per_octave, not both`, origin);
    let scales: number[];
    if (cfg.scales) scales = cfg.scales;
    else if (hasOctave) {
      const n = cfg.scales_per_octave!;
      // numpy float64 then cast to a float32 tensor, as mmdet does.
      scales = Array.from({ length: n }, (_, i) => 2 ** (i / n) * cfg.octave_base_scale!);
    } else throw new ConfigError(`either scales or octave_base_scale with scales_per_octave must be set`, origin);
    if (!Array.isArray(cfg.ratios) || cfg.ratios.length === 0) throw new ConfigError(`ratios must be a non-empty list`, { ...origin, path: `${origin.path}.ratios` });
    this.scales = Float32Array.from(scales);
    this.ratios = Float32Array.from(cfg.ratios);
    this.scaleMajor = cfg.scale_major ?? true;
    this.baseAnchors = this.baseSizes.map((b, i) => this.singleLevelBaseAnchors(b, this.centers ? this.centers[i] : null));
  }

  get numLevels(): number {
    return this.strides.length;
  }
  get numBaseAnchors(): number[] {
    return this.baseAnchors.map((a) => a.length / 4);
  }

  private singleLevelBaseAnchors(baseSize: number, center: [number, number] | null): Float32Array {
    const w = baseSize;
    const h = baseSize;
    const xc = center ? center[0] : f32(this.centerOffset * w);
    const yc = center ? center[1] : f32(this.centerOffset * h);
    const hr = Array.from(this.ratios, (r) => f32(Math.sqrt(r)));
    const wr = hr.map((v) => f32(1 / v));
    const ws: number[] = [];
    const hs: number[] = [];
    if (this.scaleMajor) {
      for (let r = 0; r < hr.length; r++)
        for (const s of this.scales) {
          ws.push(f32(f32(w * wr[r]) * s));
          hs.push(f32(f32(h * hr[r]) * s));
        }
    } else {
      for (const s of this.scales)
        for (let r = 0; r < hr.length; r++) {
          ws.push(f32(f32(w * s) * wr[r]));
          hs.push(f32(f32(h * s) * hr[r]));
        }
    }
    const out = new Float32Array(ws.length * 4);
    for (let i = 0; i < ws.length; i++) {
      out[i * 4] = f32(xc - f32(0.5 * ws[i]));
      out[i * 4 + 1] = f32(yc - f32(0.5 * hs[i]));
      out[i * 4 + 2] = f32(xc + f32(0.5 * ws[i]));
      out[i * 4 + 3] = f32(yc + f32(0.5 * hs[i]));
    }
    return out;
  }

  /** Anchors of every level for the given feature-map sizes ([h, w] per level), each (H·W·A, 4) flattened. */
  gridAnchors(featmapSizes: [number, number][]): Float32Array[] {
    if (featmapSizes.length !== this.numLevels) throw new Error(`AnchorGenerator: ${featmapSizes.length} feature maps for ${this.numLevels} levels`);
    const key = featmapSizes.map((s) => s.join('x')).join(',');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out = featmapSizes.map(([fh, fw], l) => {
      const base = this.baseAnchors[l];
      const a = base.length / 4;
      const [sw, sh] = this.strides[l];
      const res = new Float32Array(fh * fw * a * 4);
      let k = 0;
      for (let y = 0; y < fh; y++)
        for (let x = 0; x < fw; x++) {
          const sx = x * sw;
          const sy = y * sh;
          for (let j = 0; j < a; j++) {
            res[k++] = f32(base[j * 4] + sx);
            res[k++] = f32(base[j * 4 + 1] + sy);
            res[k++] = f32(base[j * 4 + 2] + sx);
            res[k++] = f32(base[j * 4 + 3] + sy);
          }
        }
      return res;
    });
    if (this.cache.size > 64) this.cache.clear();
    this.cache.set(key, out);
    return out;
  }

  /**
   * Valid flags per level from the image's *pad shape*: locations with y < min(ceil(pad_h/stride), feat_h) and
   * x < min(ceil(pad_w/stride), feat_w) are valid (all A anchors there).
   */
  validFlags(featmapSizes: [number, number][], padShape: [number, number]): Uint8Array[] {
    return featmapSizes.map(([fh, fw], l) => {
      const [sw, sh] = this.strides[l];
      const vh = Math.min(Math.ceil(padShape[0] / sh), fh);
      const vw = Math.min(Math.ceil(padShape[1] / sw), fw);
      const a = this.baseAnchors[l].length / 4;
      const res = new Uint8Array(fh * fw * a);
      for (let y = 0; y < vh; y++) for (let x = 0; x < vw; x++) res.fill(1, (y * fw + x) * a, (y * fw + x + 1) * a);
      return res;
    });
  }
}

/**
 * mmdet `anchor_inside_flags`: with allowed_border >= 0 an anchor must also lie within the image grown by the
 * border (x1 >= -b, y1 >= -b, x2 < W + b, y2 < H + b); with a negative border only the valid flag counts.
 */
export function anchorInsideFlags(flatAnchors: Float32Array, valid: Uint8Array, imgShape: [number, number], allowedBorder = 0): Uint8Array {
  if (allowedBorder < 0) return valid.slice();
  const [h, w] = imgShape;
  const b = allowedBorder;
  const out = new Uint8Array(valid.length);
  for (let i = 0; i < valid.length; i++) {
    const x1 = flatAnchors[i * 4];
    const y1 = flatAnchors[i * 4 + 1];
    const x2 = flatAnchors[i * 4 + 2];
    const y2 = flatAnchors[i * 4 + 3];
    out[i] = valid[i] && x1 >= -b && y1 >= -b && x2 < w + b && y2 < h + b ? 1 : 0;
  }
  return out;
}

/** Concatenates per-level arrays. */
export function concatLevels<T extends Float32Array | Uint8Array>(levels: T[]): T {
  const n = levels.reduce((s, a) => s + a.length, 0);
  const Ctor = levels[0].constructor as { new (n: number): T };
  const out = new Ctor(n);
  let o = 0;
  for (const a of levels) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

PRIOR_GENERATORS.register('AnchorGenerator', {
  defaults: {
    strides: undefined,
    ratios: undefined,
    scales: null,
    base_sizes: null,
    scale_major: true,
    octave_base_scale: null,
    scales_per_octave: null,
    centers: null,
    center_offset: 0,
  } as ConfigNode,
  build: (cfg, _ctx, origin) => {
    if (!Array.isArray(cfg.ratios) || !cfg.ratios.every((r) => typeof r === 'number' && r > 0)) throw new ConfigError(`ratios must be a list of positive numbers`, { ...origin, path: `${origin.path}.ratios` });
    const clean = Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== null)) as unknown as AnchorGeneratorConfig;
    return new AnchorGenerator(clean, origin);
  },
});
