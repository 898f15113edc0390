import * as path from 'node:path';
import { ConfigError, DATASETS, DataLoader, type ConfigNode, type Dataset, type EvalOptions, type EvalResult, type Split, type TaskDefinition } from '@litv2/core';
import type { CocoResult, ImageId } from '@litv2/cocoapi';
import { buildDetector, type Detector } from './detectors/detector';
import { collateDetection, disposeDetBatch, type DetBatch } from './structures/det_batch';
import { CocoDetDataset } from './datasets/coco_dataset';
import { detectionsToCoco, evaluateCoco, masksToCoco } from './evaluation/coco_eval';
import { isMaskDetector } from './detectors/two_stage';
import type { Detections } from './post_processing/multiclass_nms';

export const detectionTask: TaskDefinition<Detector, DetBatch> = {
  name: 'detection',

  async buildModel(cfg, ctx) {
    const modelCfg = cfg.model as ConfigNode | undefined;
    if (!modelCfg) throw new ConfigError(`missing 'model' section`, { file: ctx.configFile, path: 'model' });
    // The backbone's init_cfg (ImageNet weights) is loaded by the engine when a fresh training run starts.
    return buildDetector(modelCfg, ctx.configFile);
  },

  buildDataset(cfg, split: Split, ctx): Dataset {
    const data = cfg.data as Record<string, ConfigNode> | undefined;
    const node = data?.[split];
    if (!node) throw new ConfigError(`missing 'data.${split}' section`, { file: ctx.configFile, path: `data.${split}` });
    const origin = { file: ctx.configFile, path: `data.${split}` };
    const ds = DATASETS.build(node, { repoRoot: ctx.repoRoot, skipBadSamples: ctx.skipBadSamples, log: ctx.log, train: split === 'train' }, origin);
    if (!(ds instanceof CocoDetDataset)) throw new ConfigError(`${String(node.type)} is not a detection dataset`, { ...origin, path: `${origin.path}.type` });
    return ds;
  },

  collate: collateDetection,

  async evaluate(model, dataset, _cfg, opts: EvalOptions): Promise<EvalResult> {
    if (!(dataset instanceof CocoDetDataset)) throw new Error('detection evaluation needs a CocoDataset');
    const segm: CocoResult[] | undefined = isMaskDetector(model) ? [] : undefined;
    let results = await runInference(model, dataset, opts, segm);
    if (opts.shard) {
      // Gathered in dataset order (each image's results in the order its rank produced them), so the
      // evaluation sees exactly what a single process would.
      const pos = new Map(dataset.imgIds.map((id, i) => [id, i]));
      const inOrder = (parts: CocoResult[][]) => parts.flat().map((r, k) => ({ r, k })).sort((a, b) => pos.get(a.r.image_id)! - pos.get(b.r.image_id)! || a.k - b.k).map((x) => x.r);
      const boxParts = opts.shard.gather(results);
      const segmParts = segm ? opts.shard.gather(segm) : undefined;
      if (opts.shard.rank !== 0) return { metrics: {}, table: '' };
      results = inOrder(boxParts);
      if (segm && segmParts) segm.splice(0, segm.length, ...inOrder(segmParts));
    }
    const out = opts.out ?? path.join(opts.workDir, 'results.bbox.json');
    const box = evaluateCoco(dataset.coco, results, dataset.imgIds, 'bbox', out);
    opts.log(`wrote ${results.length} detections to ${out}`);
    if (!segm) return { metrics: box.metrics, table: box.table };
    // Both COCO tables, as mmdet's evaluate(metric=['bbox', 'segm']); the segm results go next to the bbox ones.
    const segmOut = out.endsWith('.bbox.json') ? out.replace(/\.bbox\.json$/, '.segm.json') : out.replace(/\.json$/, '') + '.segm.json';
    const mask = evaluateCoco(dataset.coco, segm, dataset.imgIds, 'segm', segmOut);
    opts.log(`wrote ${segm.length} instance masks to ${segmOut}`);
    return { metrics: { ...box.metrics, ...mask.metrics }, table: `${box.table}\n${mask.table}` };
  },
};

/** Runs the model over a dataset (test pipeline), returning COCO-format detections in original-image coordinates. */
export async function runInference(
  model: Detector, dataset: CocoDetDataset, opts: Pick<EvalOptions, 'batchSize' | 'skipBadSamples' | 'log' | 'shard'>,
  /** When given (mask detectors), receives the COCO segm results (compressed RLE). */
  segmOut?: CocoResult[],
): Promise<CocoResult[]> {
  const shard = opts.shard && { rank: opts.shard.rank, worldSize: opts.shard.worldSize, pad: false };
  const loader = new DataLoader<DetBatch>(dataset, { batchSize: opts.batchSize ?? 1, shuffle: false, seed: 0, prefetch: 2, collate: collateDetection, skipBadSamples: opts.skipBadSamples, log: opts.log, shard });
  const results: CocoResult[] = [];
  model.eval();
  // Progress as segmentation's evaluation prints it: every 50 images and at the end.
  const n = shard ? loader.order(0).length : dataset.length;
  const t0 = Date.now();
  let done = 0;
  for await (const batch of loader.batches(0)) {
    try {
      let dets: Detections[];
      if (segmOut && isMaskDetector(model)) {
        const res = await model.simpleTestWithMasks(batch.imgs, batch.metas, true);
        dets = res.map((r) => r.dets);
        res.forEach((r, i) => segmOut.push(...masksToCoco(batch.samples[i].info.extra?.img_id as ImageId, r.dets, r.masks?.masks ?? [], dataset.catIds)));
      } else {
        dets = await model.simpleTest(batch.imgs, batch.metas, true);
      }
      dets.forEach((d, i) => {
        const imgId = batch.samples[i].info.extra?.img_id as ImageId;
        results.push(...detectionsToCoco(imgId, d, dataset.catIds));
      });
      const before = done;
      done += dets.length;
      if (Math.floor(done / 50) > Math.floor(before / 50) || done === n) opts.log(`[eval] ${done}/${n} images, ${((Date.now() - t0) / done).toFixed(0)} ms/img`);
    } finally {
      disposeDetBatch(batch);
    }
  }
  return results;
}

