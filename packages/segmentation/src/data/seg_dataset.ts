import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DATASETS, PipelineDataset, applyPipeline, buildPipeline, initialSample, type ConfigNode, type ConfigOrigin, type Dataset, type DatasetBuildContext, type Rng, type Sample, type SampleInfo } from '@litv2/core';
import { ADE20K_CLASSES, ADE20K_PALETTE } from './ade20k_meta';

export interface SegDatasetOptions {
  imgDir: string;
  annDir?: string;
  imgSuffix: string;
  segMapSuffix: string;
  reduceZeroLabel: boolean;
  ignoreIndex: number;
  classes: readonly string[];
  palette?: readonly (readonly [number, number, number])[];
}

/** Files under `dir` (recursively, mmcv.scandir) ending in `suffix`, relative and sorted as Python sorts strings. */
function scanDir(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else if (e.name.endsWith(suffix)) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * mmseg CustomDataset: images `img_dir/<name><img_suffix>` paired with label maps `ann_dir/<name><seg_map_suffix>`.
 * Knows its evaluation conventions (reduce_zero_label, ignore_index) and where each sample's GT lies.
 */
export class SegDataset implements Dataset {
  private readonly inner: PipelineDataset;
  private readonly pipeline: ReturnType<typeof buildPipeline>;
  readonly classes: readonly string[];
  readonly palette: readonly (readonly [number, number, number])[];
  constructor(readonly opts: SegDatasetOptions, pipeline: ReturnType<typeof buildPipeline>, readonly origin: ConfigOrigin) {
    if (!fs.existsSync(opts.imgDir)) {
      const ade = /ade/i.test(opts.imgDir)
        ? ': download http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip and unzip it into data/ade/ ' +
          '(giving data/ade/ADEChallengeData2016/{images,annotations}/{training,validation}), or set data_root to your copy'
        : '';
      throw new ConfigError(`image directory ${opts.imgDir} does not exist${ade}`, origin);
    }
    if (opts.annDir && !fs.existsSync(opts.annDir)) throw new ConfigError(`annotation directory ${opts.annDir} does not exist`, origin);
    const infos: SampleInfo[] = scanDir(opts.imgDir, opts.imgSuffix).map((rel, index) => ({
      index,
      filename: rel,
      imgPrefix: opts.imgDir,
      segMap: opts.annDir ? rel.slice(0, rel.length - opts.imgSuffix.length) + opts.segMapSuffix : undefined,
      segPrefix: opts.annDir,
    }));
    if (!infos.length) throw new ConfigError(`no '*${opts.imgSuffix}' images in ${opts.imgDir}`, origin);
    this.classes = opts.classes;
    this.palette = opts.palette ?? defaultPalette(opts.classes.length);
    this.inner = new PipelineDataset(infos, pipeline, opts.classes);
    this.pipeline = pipeline;
  }
  /** Runs this dataset's pipeline on any image (e.g. for predict). */
  runPipeline(info: SampleInfo, rng: Rng): Promise<Sample | null> {
    return applyPipeline(this.pipeline, initialSample(info, rng));
  }
  get length(): number {
    return this.inner.length;
  }
  info(i: number): SampleInfo {
    return this.inner.info(i);
  }
  get(i: number, rng: Rng): Promise<Sample | null> {
    return this.inner.get(i, rng);
  }
  /** Absolute path of sample i's label PNG (raw values, before reduce_zero_label). */
  segMapFile(i: number): string {
    const info = this.info(i);
    if (!info.segMap || !info.segPrefix) throw new Error(`dataset has no ann_dir: no ground truth for '${info.filename}'`);
    return path.join(info.segPrefix, info.segMap);
  }
}

/** Deterministic distinct colours for datasets without a palette (mmseg draws random ones). */
export function defaultPalette(n: number): [number, number, number][] {
  return Array.from({ length: n }, (_, i) => {
    const h = (i * 0.618033988749895) % 1;
    const f = (k: number) => Math.round(255 * Math.max(0, Math.min(1, Math.abs(((h * 6 + k) % 6) - 3) - 1)));
    return [f(0), f(4), f(2)] as [number, number, number];
  });
}


const COMMON_DEFAULTS = {
  pipeline: [] as unknown,
  img_dir: undefined as unknown,
  ann_dir: null as unknown,
  data_root: null as unknown,
  img_suffix: '.jpg' as unknown,
  seg_map_suffix: '.png' as unknown,
  split: null as unknown,
  test_mode: false as unknown,
  ignore_index: 255 as unknown,
  reduce_zero_label: false as unknown,
  classes: null as unknown,
  palette: null as unknown,
};

/**
 * mmseg's LoadAnnotations always loads the label map (it has no with_* switches); core's shared one is
 * mmdet-flavoured (boxes by default). In a segmentation dataset, an entry that sets none of the with_* keys
 * therefore means "label map only".
 */
export function segAnnotations(pipeline: unknown): unknown {
  if (!Array.isArray(pipeline)) return pipeline;
  return pipeline.map((t) => {
    if (!t || typeof t !== 'object' || Array.isArray(t)) return t;
    const n = t as ConfigNode;
    if (n.type === 'LoadAnnotations' && !Object.keys(n).some((k) => k.startsWith('with_'))) return { ...n, with_seg: true, with_bbox: false, with_label: false };
    if (Array.isArray(n.transforms)) return { ...n, transforms: segAnnotations(n.transforms) };
    return t;
  });
}

function buildSegDataset(cfg: ConfigNode, ctx: DatasetBuildContext, origin: ConfigOrigin, fixed: Partial<SegDatasetOptions>, defaultClasses?: readonly string[]): SegDataset {
  const at = (k: string) => ({ ...origin, path: `${origin.path}.${k}` });
  if (cfg.split) throw new ConfigError('split files are not supported (list images by directory)', at('split'));
  if (typeof cfg.img_dir !== 'string') throw new ConfigError('img_dir must be a path', at('img_dir'));
  const root = cfg.data_root ? path.resolve(ctx.repoRoot, String(cfg.data_root)) : ctx.repoRoot;
  const join = (p: string) => path.resolve(root, p);
  const classes = (cfg.classes as string[] | null) ?? defaultClasses;
  if (!classes || !Array.isArray(classes) || !classes.length) throw new ConfigError('classes must list the class names', at('classes'));
  const palette = (cfg.palette as [number, number, number][] | null) ?? undefined;
  if (palette && palette.length !== classes.length) throw new ConfigError(`palette has ${palette.length} colours for ${classes.length} classes`, at('palette'));
  const opts: SegDatasetOptions = {
    imgDir: join(cfg.img_dir),
    annDir: cfg.ann_dir ? join(String(cfg.ann_dir)) : undefined,
    imgSuffix: String(cfg.img_suffix),
    segMapSuffix: String(cfg.seg_map_suffix),
    reduceZeroLabel: Boolean(cfg.reduce_zero_label),
    ignoreIndex: Number(cfg.ignore_index),
    classes,
    palette,
    ...fixed,
  };
  const pipeline = buildPipeline(segAnnotations(cfg.pipeline), at('pipeline'), { dataRoot: root });
  return new SegDataset(opts, pipeline, origin);
}

DATASETS.register('CustomDataset', { defaults: COMMON_DEFAULTS, build: (cfg, ctx, origin) => buildSegDataset(cfg, ctx, origin, {}) });

// ADE20K fixes the suffixes and reduce_zero_label (label 0 = "other", ignored; 1..150 -> 0..149).
DATASETS.register('ADE20KDataset', {
  defaults: COMMON_DEFAULTS,
  build: (cfg, ctx, origin) =>
    buildSegDataset(cfg, ctx, origin, { imgSuffix: '.jpg', segMapSuffix: '.png', reduceZeroLabel: true, ...(cfg.palette ? {} : { palette: ADE20K_PALETTE }) }, ADE20K_CLASSES),
});
