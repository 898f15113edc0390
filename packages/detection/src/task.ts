import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as core from '@litv2/core';
import {
  collate,
  ConfigError,
  DataLoader,
  registerTask,
  type Batch,
  type ConfigNode,
  type Dataset,
  type EvalOptions,
  type EvalResult,
  type Sample,
  type Split,
  type StateDict,
  type TaskContext,
  type TaskDefinition,
} from '@litv2/core';
import type { CocoResult } from '@litv2/cocoapi';
import { buildDetector } from './builders';
import type { RetinaNet } from './detectors/retinanet';
import { buildCocoDataset, CocoDetDataset, type CocoDatasetConfig } from './datasets/coco_dataset';
import { detectionsToCoco, evaluateCocoBbox } from './evaluation/coco_bbox_eval';

/** The engine's batch plus per-image box/label tensors (img_shape coordinates after the pipeline). */
export interface DetBatch extends Batch {
  gt_bboxes: tf.Tensor2D[];
  gt_labels: tf.Tensor1D[];
  gt_bboxes_ignore: tf.Tensor2D[];
}

/** Default collate + one (n, 4) box and (n,) label tensor per image. */
export function collateDetection(samples: Sample[]): DetBatch {
  const base = collate(samples);
  const boxes = (b: Float32Array | undefined) => tf.tensor2d(b ?? new Float32Array(0), [(b?.length ?? 0) / 4, 4]);
  return {
    ...base,
    gt_bboxes: samples.map((s) => boxes(s.gt_bboxes)),
    gt_labels: samples.map((s) => tf.tensor1d(s.gt_labels ?? new Int32Array(0), 'int32')),
    gt_bboxes_ignore: samples.map((s) => boxes(s.gt_bboxes_ignore)),
  };
}

const PRETRAINED_HINT: Record<string, string> = {
  'litv2_s.pth': 'LITv2-S ImageNet weights',
  'litv2_m.pth': 'LITv2-M ImageNet weights',
  'litv2_b.pth': 'LITv2-B ImageNet weights',
};

/**
 * Checks `model.backbone.init_cfg` ({type: Pretrained, checkpoint}) and returns the resolved file; a missing file
 * is a ConfigError that says where to get it.
 */
export function resolvePretrained(modelCfg: ConfigNode, ctx: Pick<TaskContext, 'repoRoot' | 'configFile'>): string | null {
  const bb = modelCfg.backbone as ConfigNode | undefined;
  const ic = (bb?.init_cfg ?? null) as { type?: string; checkpoint?: string } | null;
  if (!ic) return null;
  if (ic.type !== 'Pretrained' || typeof ic.checkpoint !== 'string') {
    throw new ConfigError(`init_cfg must be {type: Pretrained, checkpoint: <file>}`, { file: ctx.configFile, path: 'model.backbone.init_cfg' });
  }
  const file = path.resolve(ctx.repoRoot, ic.checkpoint);
  if (!fs.existsSync(file)) {
    const base = path.basename(file);
    const what = PRETRAINED_HINT[base] ?? 'the ImageNet-pretrained backbone weights';
    throw new ConfigError(
      `pretrained checkpoint ${file} not found. Download ${what} (${base}) from the LITv2 release page ` +
        `https://github.com/ziplab/LITv2#image-classification (ImageNet-1K models) and save it as ${ic.checkpoint}, ` +
        `or set model.backbone.init_cfg: null to train from scratch (--cfg-options model.backbone.init_cfg=null)`,
      { file: ctx.configFile, path: 'model.backbone.init_cfg.checkpoint' },
    );
  }
  return file;
}

/** Reads a checkpoint into a PyTorch-layout state dict (`loadStateDictFile` of the checkpoint module). */
export type StateDictReader = (file: string, opts?: { prefix?: string }) => Promise<StateDict>;

function defaultReader(): StateDictReader | null {
  const fn = (core as Record<string, unknown>).loadStateDictFile;
  return typeof fn === 'function' ? (fn as StateDictReader) : null;
}

/**
 * Loads ImageNet weights into the detector's backbone as the authors' loader does: `state_dict` / `model` unwrapped,
 * `module.` stripped, non-strict (the classifier `head.*` and final `norm.*` are unused; the output norms
 * norm1..3 keep their initialisation). Logs the missing / unexpected keys.
 */
export async function loadPretrainedBackbone(model: RetinaNet, file: string, log: (l: string) => void, reader: StateDictReader | null = defaultReader()): Promise<void> {
  if (!reader) throw new Error(`loading ${file}: no checkpoint reader (loadStateDictFile) is available in @litv2/core`);
  const sd = await reader(file);
  try {
    // A whole-detector checkpoint keeps only its backbone part.
    const keys = Object.keys(sd);
    const prefixed = keys.some((k) => k.startsWith('backbone.'));
    const dict: StateDict = {};
    for (const k of keys) if (!prefixed || k.startsWith('backbone.')) dict[prefixed ? k.slice(9) : k] = sd[k];
    const { missingKeys, unexpectedKeys } = model.backbone.loadStateDict(dict, { strict: false });
    log(`loaded ${file} into the backbone: ${missingKeys.length} missing (${missingKeys.join(', ') || 'none'}), ${unexpectedKeys.length} unexpected (${unexpectedKeys.join(', ') || 'none'})`);
  } finally {
    tf.dispose(Object.values(sd));
  }
}

export const detectionTask: TaskDefinition<RetinaNet, DetBatch> = {
  name: 'detection',

  async buildModel(cfg, ctx) {
    const modelCfg = cfg.model as ConfigNode | undefined;
    if (!modelCfg) throw new ConfigError(`missing 'model' section`, { file: ctx.configFile, path: 'model' });
    const pretrained = resolvePretrained(modelCfg, ctx);
    // init_cfg is handled here (after the whole detector exists), not by the backbone builder.
    const bb = { ...(modelCfg.backbone as ConfigNode), init_cfg: null };
    const model = buildDetector({ ...modelCfg, backbone: bb }, ctx.configFile);
    if (pretrained) await loadPretrainedBackbone(model, pretrained, ctx.log);
    return model;
  },

  buildDataset(cfg, split: Split, ctx): Dataset {
    const data = cfg.data as Record<string, ConfigNode> | undefined;
    const node = data?.[split];
    if (!node) throw new ConfigError(`missing 'data.${split}' section`, { file: ctx.configFile, path: `data.${split}` });
    const origin = { file: ctx.configFile, path: `data.${split}` };
    if (node.type !== 'CocoDataset') throw new ConfigError(`dataset type '${String(node.type)}' is not supported (CocoDataset)`, { ...origin, path: `${origin.path}.type` });
    return buildCocoDataset(node as unknown as CocoDatasetConfig, { repoRoot: ctx.repoRoot, origin, skipBadSamples: ctx.skipBadSamples, log: ctx.log, train: split === 'train' });
  },

  collate: collateDetection,

  async evaluate(model, dataset, _cfg, opts: EvalOptions): Promise<EvalResult> {
    if (!(dataset instanceof CocoDetDataset)) throw new Error('detection evaluation needs a CocoDataset');
    const results = await runInference(model, dataset, opts);
    const out = opts.out ?? path.join(opts.workDir, 'results.bbox.json');
    const { metrics, table } = evaluateCocoBbox(dataset.coco, results, dataset.imgIds, out);
    opts.log(`wrote ${results.length} detections to ${out}`);
    return { metrics, table };
  },
};

/** Runs the model over a dataset (test pipeline), returning COCO-format detections in original-image coordinates. */
export async function runInference(model: RetinaNet, dataset: CocoDetDataset, opts: Pick<EvalOptions, 'batchSize' | 'skipBadSamples' | 'log'>): Promise<CocoResult[]> {
  const loader = new DataLoader<DetBatch>(dataset, { batchSize: opts.batchSize ?? 1, shuffle: false, seed: 0, prefetch: 2, collate: collateDetection, skipBadSamples: opts.skipBadSamples, log: opts.log });
  const results: CocoResult[] = [];
  model.eval();
  for await (const batch of loader.batches(0)) {
    try {
      const dets = await model.simpleTest(batch.imgs, batch.metas, true);
      dets.forEach((d, i) => {
        const imgId = batch.samples[i].info.extra?.img_id as number;
        results.push(...detectionsToCoco(imgId, d, dataset.catIds));
      });
    } finally {
      tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels, ...batch.gt_bboxes_ignore]);
    }
  }
  return results;
}

registerTask(detectionTask);
