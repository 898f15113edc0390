import * as tf from '@tensorflow/tfjs';
import { CLASSIFIERS, CLS_DATASETS, ConfigError, DataLoader, type ConfigNode, type Dataset, type EvalOptions, type EvalResult, type Sample, type Split, type TaskContext, type TaskDefinition } from '@litv2/core';
import type { ImageClassifier, ClsBatch } from '../models/image_classifier';
import { ImageFolderDataset } from '../data/image_folder';
import { collateClassification } from '../data/mixup';
import '../models/image_classifier';
import '../data/transforms';
import '../data/rand_augment';

const obj = (v: unknown): ConfigNode => (v && typeof v === 'object' && !Array.isArray(v) ? (v as ConfigNode) : {});

/** Builds `cfg.model` ({type: ImageClassifier, backbone: {type: LITv2 | LeViT | EfficientViT, ...}}). */
export function buildClassifierModel(cfg: ConfigNode, configFile?: string): ImageClassifier {
  if (!cfg.model || typeof cfg.model !== 'object') throw new ConfigError("missing 'model'", { file: configFile, path: 'model' });
  return CLASSIFIERS.build(cfg.model as ConfigNode, undefined, { file: configFile, path: 'model' }) as ImageClassifier;
}

/** Builds `cfg.data[split]` (an ImageFolder with its pipeline; the synthetic set is generated on first use). */
export async function buildClsDatasetFromConfig(cfg: ConfigNode, split: Split, ctx: Pick<TaskContext, 'repoRoot' | 'log' | 'configFile'>): Promise<ImageFolderDataset> {
  const node = obj(cfg.data)[split];
  if (!node || typeof node !== 'object') throw new ConfigError(`missing 'data.${split}'`, { file: ctx.configFile, path: `data.${split}` });
  const origin = { file: ctx.configFile, path: `data.${split}` };
  const ds = await CLS_DATASETS.build(node as ConfigNode, { repoRoot: ctx.repoRoot, log: ctx.log }, origin);
  if (!(ds instanceof ImageFolderDataset)) throw new ConfigError(`${String((node as ConfigNode).type)} is not an image-folder dataset`, { ...origin, path: `${origin.path}.type` });
  return ds;
}

/** Top-k hits of one logits row against `label` (ties broken towards the lower index, as torch.topk on CPU). */
function rankOf(row: Float32Array, offset: number, numClasses: number, label: number): number {
  const v = row[offset + label];
  let rank = 0;
  for (let k = 0; k < numClasses; k++) {
    const x = row[offset + k];
    if (x > v || (x === v && k < label)) rank++;
  }
  return rank;
}

/**
 * DeiT `evaluate`: the test pipeline (resize + centre crop), batches of `data.samples_per_gpu`, top-1 / top-5
 * accuracy (top-5 counts rank < min(5, classes)).
 */
export async function evaluateClassification(model: ImageClassifier, dataset: Dataset, cfg: ConfigNode, opts: EvalOptions & { limit?: number }): Promise<EvalResult> {
  const bs = opts.batchSize ?? Number(obj(cfg.data).samples_per_gpu ?? 32);
  const loader = new DataLoader<ClsBatch>(dataset, { batchSize: bs, shuffle: false, seed: 0, collate: (s: Sample[]) => collateClassification(s, false), skipBadSamples: opts.skipBadSamples, log: opts.log });
  const n = Math.min(dataset.length, opts.limit ?? Infinity);
  const k5 = Math.min(5, model.numClasses);
  let seen = 0;
  let top1 = 0;
  let top5 = 0;
  const t0 = Date.now();
  const perClass = new Float64Array(model.numClasses * 2);
  for await (const batch of loader.batches(0)) {
    const logits = tf.tidy(() => model.forward(batch.imgs));
    const rows = (await logits.data()) as Float32Array;
    logits.dispose();
    batch.imgs.dispose();
    for (let i = 0; i < batch.labels.length && seen < n; i++, seen++) {
      const label = batch.labels[i];
      if (label >= model.numClasses) throw new Error(`${batch.samples[i].meta.filename}: class ${label} but the model has ${model.numClasses} classes`);
      const r = rankOf(rows, i * model.numClasses, model.numClasses, label);
      if (r === 0) top1++;
      if (r < k5) top5++;
      perClass[2 * label] += 1;
      if (r === 0) perClass[2 * label + 1] += 1;
    }
    if (seen % (bs * 10) < bs || seen >= n) opts.log(`[eval] ${seen}/${n} images, ${((Date.now() - t0) / seen).toFixed(1)} ms/img`);
    if (seen >= n) break;
  }
  if (!seen) throw new Error('classification evaluation: the dataset yielded no images');
  const metrics = { 'accuracy_top-1': top1 / seen, 'accuracy_top-5': top5 / seen };
  const lines = [`top-1 ${(100 * metrics['accuracy_top-1']).toFixed(2)}%  top-5 ${(100 * metrics['accuracy_top-5']).toFixed(2)}%  (${seen} images)`];
  if (dataset.classes.length <= 20) {
    lines.push('class'.padEnd(16) + 'images  top-1');
    dataset.classes.forEach((c, k) => lines.push(`${c.padEnd(16)}${String(perClass[2 * k]).padStart(6)}  ${perClass[2 * k] ? ((100 * perClass[2 * k + 1]) / perClass[2 * k]).toFixed(1) : '-'}%`));
  }
  return { metrics, table: lines.join('\n') };
}

export const classificationTask: TaskDefinition<ImageClassifier, ClsBatch> = {
  name: 'classification',
  buildModel: (cfg: ConfigNode, ctx: TaskContext) => buildClassifierModel(cfg, ctx.configFile),
  buildDataset: (cfg: ConfigNode, split: Split, ctx: TaskContext) => buildClsDatasetFromConfig(cfg, split, ctx),
  collate: (samples: Sample[]) => collateClassification(samples, true),
  evaluate: (model, dataset, cfg, opts) => evaluateClassification(model, dataset, cfg, opts),
};
