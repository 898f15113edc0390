import * as fs from 'node:fs';
import { ConfigError, loadPretrained, type ConfigNode, type LoadResult } from '@litv2/core';
import { initBackend, loadConfig } from '@litv2/core/node';
import { CLASSIFIERS } from '@litv2/core';
import type { ImageClassifier, TopK } from './models/image_classifier';
import './models/image_classifier';
import { IMAGENET_EVAL, loadEvalImage, loadTensorFile, type EvalTransform } from './data/eval_input';

export interface BuiltClassifier {
  model: ImageClassifier;
  /** Key report of the weights loaded (checkpoint argument, else `init_cfg`), if any. */
  loadReport?: LoadResult & { file: string };
}

/**
 * Builds `cfg.model` and loads weights: `checkpoint` when given (an official `.pth` or ours), otherwise
 * `model.init_cfg` ({type: Pretrained, checkpoint}). Loading is non-strict; the report lists key mismatches.
 */
export async function buildClassifier(cfg: ConfigNode, opts: { checkpoint?: string; file?: string } = {}): Promise<BuiltClassifier> {
  const modelCfg = cfg.model as ConfigNode | undefined;
  if (!modelCfg || typeof modelCfg !== 'object') throw new ConfigError("missing 'model' section", { file: opts.file, path: 'model' });
  const initCfg = modelCfg.init_cfg as { type?: string; checkpoint?: string } | null | undefined;
  const ckpt = opts.checkpoint ?? (initCfg?.type === 'Pretrained' ? initCfg.checkpoint : undefined);
  // Built without the random init when weights follow.
  const model = CLASSIFIERS.build({ ...modelCfg, init_cfg: ckpt ? { type: 'Pretrained', checkpoint: ckpt } : null }, undefined, { file: opts.file, path: 'model' }) as ImageClassifier;
  model.eval();
  if (!ckpt) return { model };
  if (!fs.existsSync(ckpt)) throw new Error(`checkpoint not found: ${ckpt}`);
  const r = await loadPretrained(model, ckpt);
  return { model, loadReport: { ...r, file: ckpt } };
}

export interface ClassificationPredictOptions {
  /** Config name (configs/**\/NAME.yaml) or path. */
  config: string;
  cfgOptions?: string[];
  checkpoint?: string;
  image?: string;
  /** Pre-normalised NCHW batch: `.npy`, or raw float32 LE with `shape`. */
  tensor?: string;
  shape?: number[];
  topk?: number;
  /** Class names, one per line. */
  labels?: string;
}

export interface ClassificationPrediction {
  logits: number[][];
  topk: TopK[][];
  loadReport?: LoadResult & { file: string };
  configFile: string;
}

function evalTransformOf(cfg: ConfigNode): EvalTransform {
  const t = (cfg.test_transform ?? {}) as Partial<EvalTransform>;
  return { ...IMAGENET_EVAL, ...t };
}

/** The classification branch of `tools/predict.ts`. */
export async function predictClassification(o: ClassificationPredictOptions): Promise<ClassificationPrediction> {
  if (!o.image === !o.tensor) throw new Error('give exactly one of --image FILE or --tensor FILE');
  await initBackend({ quiet: true });
  const loaded = loadConfig(o.config, { cfgOptions: o.cfgOptions });
  const { model, loadReport } = await buildClassifier(loaded.cfg, { checkpoint: o.checkpoint, file: loaded.file });
  try {
    const x = o.image ? await loadEvalImage(o.image, evalTransformOf(loaded.cfg)) : loadTensorFile(o.tensor!, o.shape);
    const labels = o.labels ? fs.readFileSync(o.labels, 'utf8').split(/\r?\n/).filter((l) => l.length > 0) : undefined;
    const { logits, topk } = await model.predict(x, o.topk ?? 5, labels);
    x.dispose();
    return { logits, topk, loadReport, configFile: loaded.file };
  } finally {
    model.dispose();
  }
}
