/**
 * torchvision `ImageFolder`: `<data_prefix>/<class>/<image>`, class index = position of the folder name in
 * sorted order. Missing or empty layouts are errors that name the expected layout; unreadable images are
 * reported by path (by the loader while training, by the evaluation loop while testing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLS_DATASETS, ConfigError, PipelineDataset, buildPipeline, isMapping, validateKeys, type ConfigNode, type ConfigOrigin, type Rng, type Sample, type SampleInfo, type Transform } from '@litv2/core';
import { NO_BATCH_AUGMENT, type BatchAugmentOptions, type ClsSampleExtra } from './mixup';
import { SYNTHETIC_CLS_DEFAULTS, SYNTHETIC_CLS_DIR, makeSyntheticClassification } from './synthetic';

/** torchvision IMG_EXTENSIONS (lower-cased comparison). */
export const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

export interface ImageFolderScan {
  classes: string[];
  /** [relative file, class index], sorted by class then file name. */
  files: [string, number][];
}

/** Lists `root/<class>/<image>`; errors name the root and the expected layout. */
export function scanImageFolder(root: string): ImageFolderScan {
  const layout = `expected ${path.join(root, '<class>', '<image>')} (e.g. data/imagenet/val/n01440764/ILSVRC2012_val_00000293.JPEG; one folder per class, index = sorted folder order)`;
  if (!fs.existsSync(root)) throw new Error(`ImageFolder: ${root} does not exist: ${layout}`);
  if (!fs.statSync(root).isDirectory()) throw new Error(`ImageFolder: ${root} is not a directory: ${layout}`);
  const classes = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  if (!classes.length) throw new Error(`ImageFolder: ${root} has no class folders: ${layout}`);
  const files: [string, number][] = [];
  const empty: string[] = [];
  classes.forEach((cls, idx) => {
    const imgs = walk(path.join(root, cls)).filter((f) => IMG_EXTENSIONS.includes(path.extname(f).toLowerCase())).sort();
    if (!imgs.length) empty.push(cls);
    for (const f of imgs) files.push([path.join(cls, f), idx]);
  });
  if (empty.length) throw new Error(`ImageFolder: no image (${IMG_EXTENSIONS.join(' ')}) in class folder(s) ${empty.slice(0, 5).map((c) => path.join(root, c)).join(', ')}${empty.length > 5 ? ` and ${empty.length - 5} more` : ''}: ${layout}`);
  return { classes, files };
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? path.join(rel, d.name) : d.name;
    if (d.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

/** An ImageFolder tree through a pipeline; each sample carries its class label for the collate. */
export class ImageFolderDataset extends PipelineDataset {
  constructor(readonly root: string, scan: ImageFolderScan, pipeline: Transform[], private readonly batchAugment: BatchAugmentOptions) {
    const infos: SampleInfo[] = scan.files.map(([f, label], index) => ({ index, filename: f, imgPrefix: root, extra: { label } }));
    super(infos, pipeline, scan.classes);
  }

  /** Class index of sample i (no I/O). */
  label(i: number): number {
    return this.info(i).extra!.label as number;
  }

  override async get(i: number, rng: Rng): Promise<Sample | null> {
    const s = await super.get(i, rng);
    if (s) s.extra.cls = { label: this.label(i), numClasses: this.classes.length, batchAugment: this.batchAugment } satisfies ClsSampleExtra;
    return s;
  }
}

export type { ClsDatasetBuildContext as ClsDatasetContext } from '@litv2/core';

function batchAugmentFromConfig(v: unknown, origin: ConfigOrigin): BatchAugmentOptions {
  if (v === null || v === undefined) return NO_BATCH_AUGMENT;
  const keys: Record<string, keyof BatchAugmentOptions> = { mixup_alpha: 'mixupAlpha', cutmix_alpha: 'cutmixAlpha', prob: 'prob', switch_prob: 'switchProb', label_smoothing: 'labelSmoothing' };
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError('expected a mapping (mixup_alpha, cutmix_alpha, prob, switch_prob, label_smoothing)', origin);
  const out = { ...NO_BATCH_AUGMENT };
  for (const [k, x] of Object.entries(v as ConfigNode)) {
    const at = { ...origin, path: `${origin.path}.${k}` };
    if (!(k in keys)) throw new ConfigError(`unknown key '${k}' (expected ${Object.keys(keys).join(', ')})`, at);
    if (typeof x !== 'number' || x < 0) throw new ConfigError(`expected a number >= 0, got ${JSON.stringify(x)}`, at);
    out[keys[k]] = x;
  }
  if (out.labelSmoothing >= 1 || out.prob > 1 || out.switchProb > 1) throw new ConfigError('label_smoothing must be < 1 and prob, switch_prob <= 1', origin);
  return out;
}

const SYNTH_KEYS: Record<string, keyof typeof SYNTHETIC_CLS_DEFAULTS> = { seed: 'seed', num_train: 'numTrain', num_val: 'numVal', size: 'size', num_classes: 'numClasses' };

CLS_DATASETS.register('ImageFolder', {
  defaults: { data_prefix: undefined as unknown, pipeline: [] as unknown, batch_augment: null, synthetic: null, fallback_to_synthetic: false },
  // Nested keys are checked before any folder is scanned or generated (and with a suggestion).
  check: (cfg, origin) => {
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if (isMapping(cfg.synthetic)) validateKeys(cfg.synthetic, { seed: 'index', num_train: 'index', num_val: 'index', size: 'index', num_classes: 'index' }, at('synthetic'));
    if (isMapping(cfg.batch_augment)) validateKeys(cfg.batch_augment, { mixup_alpha: 'nonneg', cutmix_alpha: 'nonneg', prob: 'fraction', switch_prob: 'fraction', label_smoothing: 'fraction' }, at('batch_augment'));
  },
  build: async (cfg, ctx, origin) => {
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if (typeof cfg.data_prefix !== 'string') throw new ConfigError(`expected the image folder path, got ${JSON.stringify(cfg.data_prefix)}`, at('data_prefix'));
    let root = path.resolve(ctx.repoRoot, cfg.data_prefix);
    if (typeof cfg.fallback_to_synthetic !== 'boolean') throw new ConfigError(`expected true/false, got ${JSON.stringify(cfg.fallback_to_synthetic)}`, at('fallback_to_synthetic'));
    let synthetic = cfg.synthetic as unknown;
    if (cfg.fallback_to_synthetic && !fs.existsSync(root) && (synthetic === null || synthetic === undefined)) {
      // A fresh machine can still run `classification:test` on an ImageNet config: the synthetic val set.
      const synth = path.resolve(ctx.repoRoot, SYNTHETIC_CLS_DIR, 'val');
      ctx.log(`warning: ${root} not found (ImageNet layout ${path.join(root, '<class>', '<image>')}); evaluating on the synthetic classification set ${synth} instead`);
      root = synth;
      synthetic = {};
    }
    const pipeline = buildPipeline(cfg.pipeline, at('pipeline'), { dataRoot: root });
    const batchAugment = batchAugmentFromConfig(cfg.batch_augment, at('batch_augment'));
    if (synthetic !== null && synthetic !== undefined) {
      // The synthetic set lives at the parent of data_prefix ({train,val} side by side) and is made on first use.
      const s = synthetic as ConfigNode;
      if (typeof s !== 'object' || Array.isArray(s)) throw new ConfigError('expected a mapping of generator options or null', at('synthetic'));
      const o = { out: path.dirname(root), ...SYNTHETIC_CLS_DEFAULTS };
      for (const [k, v] of Object.entries(s)) {
        if (!(k in SYNTH_KEYS)) throw new ConfigError(`unknown key '${k}' (expected ${Object.keys(SYNTH_KEYS).join(', ')})`, at(`synthetic.${k}`));
        if (!Number.isInteger(v) || (v as number) < 0) throw new ConfigError(`expected an integer >= 0, got ${JSON.stringify(v)}`, at(`synthetic.${k}`));
        o[SYNTH_KEYS[k]] = v as number;
      }
      if (!['train', 'val'].includes(path.basename(root))) throw new ConfigError(`a synthetic set is written as <dir>/{train,val}: data_prefix must end in train or val, got ${String(cfg.data_prefix)}`, at('data_prefix'));
      await makeSyntheticClassification(o, ctx.log);
    }
    return new ImageFolderDataset(root, scanImageFolder(root), pipeline, batchAugment);
  },
});
