/**
 * Pipelines: the `TRANSFORMS` registry (mmdet/mmseg type names), `buildPipeline` from a config list, the
 * hooks through which task packages teach the shared geometric transforms about their own fields, and
 * `PipelineDataset`, a Dataset over a list of SampleInfo.
 */
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import type { Rng } from './rng';
import type { Dataset, ImageMeta, Sample, SampleInfo, Transform } from './types';

/** Context passed to transform builders (nested pipelines such as MultiScaleFlipAug use `buildPipeline`). */
export interface TransformContext {
  /** Directory relative image/label paths are resolved against when a SampleInfo has no prefix. */
  dataRoot?: string;
}

import { TRANSFORMS } from '../registry/registries';
export { TRANSFORMS };

/** Builds the transforms of a config list (`data.train.pipeline`), naming `origin.path.<i>` in errors. */
export function buildPipeline(list: unknown, origin: ConfigOrigin, ctx?: TransformContext): Transform[] {
  if (!Array.isArray(list)) throw new ConfigError('a pipeline must be a list of transforms', origin);
  return list.map((t, i) => {
    if (!t || typeof t !== 'object') throw new ConfigError('a transform must be a mapping with a type', { ...origin, path: `${origin.path}.${i}` });
    return TRANSFORMS.build(t as ConfigNode, ctx, { ...origin, path: `${origin.path}.${i}` });
  });
}

/** Runs transforms in order; `null` from any step drops the sample. */
export async function applyPipeline(pipeline: Transform[], sample: Sample): Promise<Sample | null> {
  let s: Sample | null = sample;
  for (const t of pipeline) {
    s = await t.apply(s);
    if (!s) return null;
  }
  return s;
}

/**
 * How the shared geometric transforms update a task-specific field kept in `sample.extra[name]`
 * (e.g. bitmap masks). Each receives the current value and returns the new one.
 */
export interface FieldHandler {
  resize?(value: unknown, s: { scaleFactor: [number, number]; newHeight: number; newWidth: number; sample: Sample }): unknown;
  flip?(value: unknown, s: { direction: 'horizontal' | 'vertical' | 'diagonal'; height: number; width: number; sample: Sample }): unknown;
  pad?(value: unknown, s: { padHeight: number; padWidth: number; sample: Sample }): unknown;
}

export const FIELD_HANDLERS = new Map<string, FieldHandler>();

/** Registers how Resize/RandomFlip/Pad update `sample.extra[name]`. */
export function registerFieldHandler(name: string, handler: FieldHandler): void {
  if (FIELD_HANDLERS.has(name)) throw new Error(`field handler '${name}' is already registered`);
  FIELD_HANDLERS.set(name, handler);
}

/** A fresh sample for `info` before any transform ran. */
export function initialSample(info: SampleInfo, rng: Rng): Sample {
  const h = info.height ?? 0;
  const w = info.width ?? 0;
  const meta: ImageMeta = {
    filename: info.filename,
    ori_filename: info.filename,
    ori_shape: [h, w, 3],
    img_shape: [h, w, 3],
    pad_shape: [h, w, 3],
    scale_factor: [1, 1, 1, 1],
    flip: false,
  };
  return { info, meta, extra: {}, rng };
}

/** Dataset over precomputed sample descriptions and a transform pipeline. */
export class PipelineDataset implements Dataset {
  constructor(
    private readonly infos: SampleInfo[],
    readonly pipeline: Transform[],
    readonly classes: readonly string[],
    private readonly flags?: Uint8Array,
  ) {}

  get length(): number {
    return this.infos.length;
  }

  info(i: number): SampleInfo {
    const x = this.infos[i];
    if (!x) throw new Error(`sample index ${i} out of range (dataset has ${this.infos.length})`);
    return x;
  }

  get(i: number, rng: Rng): Promise<Sample | null> {
    return applyPipeline(this.pipeline, initialSample(this.info(i), rng));
  }

  groupFlags(): Uint8Array {
    if (this.flags) return this.flags;
    // mmdet: flag 1 when width / height > 1 (unknown sizes fall into group 0).
    return Uint8Array.from(this.infos, (x) => (x.width && x.height && x.width / x.height > 1 ? 1 : 0));
  }
}
