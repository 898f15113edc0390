import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, DATASETS, Rng, type ConfigNode, type Dataset, type EvalOptions, type EvalResult, type Split, type TaskContext, type TaskDefinition } from '@litv2/core';
import { encodeLabelPng, readLabelPng } from '@litv2/core/node';
import { MiouAccumulator, formatMiouTable } from '../evaluation';
import { segmentorFromConfig, type EncoderDecoder } from '../models/encoder_decoder';
import { SegDataset } from '../data/seg_dataset';
import '../data/transforms';

const obj = (v: unknown): ConfigNode => (v && typeof v === 'object' && !Array.isArray(v) ? (v as ConfigNode) : {});

/** Builds `cfg.model` (mmseg EncoderDecoder config) into our model. */
export function buildSegmentor(cfg: ConfigNode, configFile?: string): EncoderDecoder {
  if (!cfg.model || typeof cfg.model !== 'object') throw new ConfigError("missing 'model'", { file: configFile, path: 'model' });
  return segmentorFromConfig(cfg.model as ConfigNode, { file: configFile, path: 'model' });
}

/** Builds `cfg.data[split]` (ADE20KDataset / CustomDataset with its pipeline). */
export function buildSegDatasetFromConfig(cfg: ConfigNode, split: Split, repoRoot: string, configFile?: string): SegDataset {
  const node = obj(cfg.data)[split];
  if (!node || typeof node !== 'object') throw new ConfigError(`missing 'data.${split}'`, { file: configFile, path: `data.${split}` });
  const ds = DATASETS.build(node as ConfigNode, { repoRoot, train: split === 'train' }, { file: configFile, path: `data.${split}` });
  if (!(ds instanceof SegDataset)) throw new ConfigError(`${String((node as ConfigNode).type)} is not a segmentation dataset`, { file: configFile, path: `data.${split}.type` });
  return ds;
}

/** The image of a prepared test sample as a [1, H, W, 3] tensor. */
function sampleTensor(s: { img?: { data: Uint8Array | Float32Array; height: number; width: number; channels: number }; info: { filename: string } }): tf.Tensor4D {
  if (!s.img) throw new Error(`${s.info.filename}: the test pipeline produced no image`);
  const { data, height, width, channels } = s.img;
  return tf.tensor4d(data instanceof Float32Array ? data : Float32Array.from(data), [1, height, width, channels]);
}

/**
 * mmseg single-GPU test + `dataset.evaluate(metric='mIoU')`: one image at a time through the test pipeline,
 * `simple_test` with rescale (label map at the original size), histograms against the raw GT PNG (with the
 * dataset's reduce_zero_label), then aAcc / mIoU / mAcc and the per-class IoU/Acc table.
 */
export async function evaluateSegmentation(model: EncoderDecoder, dataset: Dataset, opts: EvalOptions & { limit?: number }): Promise<EvalResult> {
  if (!(dataset instanceof SegDataset)) throw new Error('segmentation evaluation needs a SegDataset (ADE20KDataset / CustomDataset)');
  const acc = new MiouAccumulator({ numClasses: model.numClasses, ignoreIndex: dataset.opts.ignoreIndex, reduceZeroLabel: dataset.opts.reduceZeroLabel });
  const n = Math.min(dataset.length, opts.limit ?? Infinity);
  if (opts.out) fs.mkdirSync(opts.out, { recursive: true });
  const t0 = Date.now();
  const step = opts.shard?.worldSize ?? 1;
  let seen = 0;
  for (let i = opts.shard?.rank ?? 0; i < n; i += step) {
    const s = await dataset.get(i, new Rng(i));
    if (!s) throw new Error(`${dataset.info(i).filename}: dropped by the test pipeline`);
    const img = sampleTensor(s);
    const predT = model.simpleTest(img, s.meta, true);
    const pred = predT.dataSync() as Int32Array;
    const [ph, pw] = predT.shape;
    tf.dispose([img, predT]);
    const gtFile = dataset.segMapFile(i);
    const gt = readLabelPng(gtFile);
    if (gt.height !== ph || gt.width !== pw) throw new Error(`${gtFile}: GT is ${gt.height}x${gt.width} but the prediction (ori_shape) is ${ph}x${pw}`);
    acc.add(pred, gt.data);
    if (opts.out) {
      const name = dataset.info(i).filename.replace(/\.[^./]+$/, '.png');
      fs.mkdirSync(path.dirname(path.join(opts.out, name)), { recursive: true });
      fs.writeFileSync(path.join(opts.out, name), encodeLabelPng({ data: Uint8Array.from(pred), height: ph, width: pw }));
    }
    seen++;
    if (seen % 50 === 0 || i + step >= n) opts.log(`[eval] ${seen}/${Math.ceil((n - (opts.shard?.rank ?? 0)) / step)} images, ${((Date.now() - t0) / seen).toFixed(0)} ms/img`);
  }
  if (opts.shard) {
    // Per-class pixel counts (integers, exact in float64) summed over ranks: the metrics equal one process's.
    const t = acc.totals;
    const parts = opts.shard.gather([t.intersect, t.union, t.predLabel, t.label].map((a) => Array.from(a)));
    if (opts.shard.rank !== 0) return { metrics: {}, table: '' };
    [t.intersect, t.union, t.predLabel, t.label].forEach((a, k) => {
      a.fill(0);
      for (const p of parts) p[k].forEach((v, c) => (a[c] += v));
    });
  }
  const r = acc.result();
  return { metrics: { aAcc: r.aAcc, mIoU: r.mIoU, mAcc: r.mAcc }, table: formatMiouTable(r, dataset.classes) };
}

export const segmentationTask: TaskDefinition<EncoderDecoder> = {
  name: 'segmentation',
  buildModel: async (cfg: ConfigNode, ctx: TaskContext) => {
    // `model.pretrained` becomes the backbone's init_cfg, loaded by the engine when a fresh run starts.
    return buildSegmentor(cfg, ctx.configFile);
  },
  buildDataset: (cfg: ConfigNode, split: Split, ctx: TaskContext) => buildSegDatasetFromConfig(cfg, split, ctx.repoRoot, ctx.configFile),
  evaluate: (model, dataset, _cfg, opts) => evaluateSegmentation(model, dataset, opts),
};

