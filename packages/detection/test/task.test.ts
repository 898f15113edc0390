import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildOptimizer, ConfigError, Rng, type ConfigNode } from '@litv2/core';
import { encodeRgbPng, initBackend, loadConfig } from '@litv2/core/node';
import { COCO } from '@litv2/cocoapi';
import { repoRoot } from './helpers';
import {
  buildDetector,
  collateDetection,
  detectionTask,
  detectionsToCoco,
  evaluateCocoBbox,
  parseCocoAnns,
  runInference,
  type CocoDetDataset,
  type DetBatch,
} from '@litv2/detection';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const NORM = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], to_rgb: true };

/** A 3-image COCO set on disk: 80x60 (landscape), 40x50 and one without annotations. */
async function makeCoco(dir: string, extraAnns: object[] = []): Promise<string> {
  fs.mkdirSync(path.join(dir, 'img'), { recursive: true });
  const sizes: [number, number][] = [[60, 80], [50, 40], [64, 64]];
  for (const [i, [h, w]] of sizes.entries()) {
    const data = new Uint8Array(h * w * 3).map((_, k) => (k * 7 + i) % 251);
    fs.writeFileSync(path.join(dir, 'img', `${i}.png`), await encodeRgbPng({ data, height: h, width: w, channels: 3 }));
  }
  const ann = {
    images: sizes.map(([h, w], i) => ({ id: 10 + i, file_name: `${i}.png`, height: h, width: w })),
    categories: [{ id: 7, name: 'b' }, { id: 3, name: 'a' }],
    annotations: [
      { id: 1, image_id: 10, category_id: 3, bbox: [10, 5, 30, 20], area: 600, iscrowd: 0 },
      { id: 2, image_id: 10, category_id: 7, bbox: [50, 30, 20, 25], area: 500, iscrowd: 0 },
      { id: 3, image_id: 10, category_id: 7, bbox: [0, 0, 8, 8], area: 64, iscrowd: 1 },
      { id: 4, image_id: 11, category_id: 7, bbox: [4, 4, 0.5, 10], area: 5, iscrowd: 0 }, // thinner than 1 px: dropped
      { id: 5, image_id: 11, category_id: 3, bbox: [2, 3, 20, 30], area: 600, iscrowd: 0 },
      ...extraAnns,
    ],
  };
  const file = path.join(dir, 'ann.json');
  fs.writeFileSync(file, JSON.stringify(ann));
  return file;
}

function dataCfg(dir: string, pipeline: ConfigNode[]): ConfigNode {
  return { data: { train: { type: 'CocoDataset', ann_file: path.join(dir, 'ann.json'), img_prefix: path.join(dir, 'img'), pipeline } } };
}
const ctx = (dir: string, extra: Partial<{ skipBadSamples: boolean; log: (l: string) => void }> = {}) => ({ configFile: 'test.yaml', repoRoot: dir, skipBadSamples: false, log: () => {}, ...extra });

test('COCO dataset: contiguous labels in category order, crowd boxes ignored, empty images filtered for training', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-coco-'));
  await makeCoco(dir);
  const ds = (await detectionTask.buildDataset(dataCfg(dir, [{ type: 'LoadImageFromFile' }, { type: 'LoadAnnotations', with_bbox: true }]), 'train', ctx(dir))) as CocoDetDataset;
  expect(ds.classes).toEqual(['b', 'a']);
  expect(ds.catIds).toEqual([7, 3]);
  expect(ds.length).toBe(2); // image 12 has no annotation
  const a0 = ds.info(0).ann!;
  expect(Array.from(a0.bboxes)).toEqual([10, 5, 40, 25, 50, 30, 70, 55]);
  expect(Array.from(a0.labels)).toEqual([1, 0]);
  expect(Array.from(a0.bboxesIgnore!)).toEqual([0, 0, 8, 8]);
  expect(Array.from(ds.info(1).ann!.labels)).toEqual([1]);
  const test = (await detectionTask.buildDataset({ data: { test: (dataCfg(dir, []).data as ConfigNode).train } } as ConfigNode, 'test', ctx(dir))) as CocoDetDataset;
  expect(test.length).toBe(3);
});

test('resize / flip / pad keep boxes, metas and the padded batch consistent', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-pipe-'));
  await makeCoco(dir);
  const pipeline = [
    { type: 'LoadImageFromFile' },
    { type: 'LoadAnnotations', with_bbox: true },
    { type: 'Resize', img_scale: [160, 96], keep_ratio: true },
    { type: 'RandomFlip', flip_ratio: 1.0 },
    { type: 'Normalize', ...NORM },
    { type: 'Pad', size_divisor: 32 },
  ];
  const ds = (await detectionTask.buildDataset(dataCfg(dir, pipeline), 'train', ctx(dir))) as CocoDetDataset;
  const s0 = (await ds.get(0, new Rng(1)))!;
  const s1 = (await ds.get(1, new Rng(1)))!;
  // 80x60 -> scale min(160/80, 96/60) = 1.6 -> 128x96; flipped horizontally; padded to 128x96 (already /32).
  expect(s0.meta.img_shape).toEqual([96, 128, 3]);
  expect(s0.meta.pad_shape).toEqual([96, 128, 3]);
  expect(s0.meta.scale_factor.map((v) => +v.toFixed(4))).toEqual([1.6, 1.6, 1.6, 1.6]);
  expect(s0.meta.flip).toBe(true);
  const w = 128;
  const exp = [[10, 5, 40, 25], [50, 30, 70, 55]].flatMap(([x1, y1, x2, y2]) => [w - x2 * 1.6, y1 * 1.6, w - x1 * 1.6, y2 * 1.6]);
  Array.from(s0.gt_bboxes!).forEach((v, i) => expect(v).toBeCloseTo(exp[i], 3));
  Array.from(s0.gt_bboxes_ignore!).forEach((v, i) => expect(v).toBeCloseTo([w - 8 * 1.6, 0, w, 8 * 1.6][i], 3));
  // 40x50 -> scale min(160/50, 96/40) = 2.4 -> 96x120, padded to 96x128.
  expect(s1.meta.img_shape).toEqual([120, 96, 3]);
  expect(s1.meta.pad_shape).toEqual([128, 96, 3]);
  const batch = collateDetection([s0, s1]);
  expect(batch.imgs.shape).toEqual([2, 128, 128, 3]);
  expect(batch.gt_bboxes.map((b) => b.shape)).toEqual([[2, 4], [1, 4]]);
  expect(Array.from(batch.gt_labels[0].dataSync())).toEqual([1, 0]);
  tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels, ...batch.gt_bboxes_ignore]);
});

test('bad boxes name the annotation id; --skip-bad-samples logs and skips the image', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-bad-'));
  await makeCoco(dir, [{ id: 99, image_id: 11, category_id: 3, bbox: [1, 2, 'x', 4], area: 4, iscrowd: 0 }]);
  const cfg = dataCfg(dir, [{ type: 'LoadImageFromFile' }]);
  await expect(async () => detectionTask.buildDataset(cfg, 'train', ctx(dir))).rejects.toThrow(/annotation id 99 \(image 11\) has an invalid bbox/);
  const logs: string[] = [];
  const ds = await detectionTask.buildDataset(cfg, 'train', ctx(dir, { skipBadSamples: true, log: (l) => logs.push(l) }));
  expect(ds.length).toBe(1);
  expect(logs.join('\n')).toMatch(/skipping image 11/);
  expect(() => parseCocoAnns([{ id: 5, image_id: 1, category_id: 1, bbox: [0, 0, 1] }], { width: 9, height: 9 }, new Map([[1, 0]]), 'f.json')).toThrow(/f\.json: annotation id 5/);
});

test('invalid COCO ground truth stops the run with counts and ids; --skip-bad-samples drops it and logs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-gt-'));
  await makeCoco(dir, [
    { id: 20, image_id: 10, category_id: 3, bbox: [5, 5, -4, 10], area: 40, iscrowd: 0 }, // negative width
    { id: 21, image_id: 10, category_id: 55, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0 }, // unknown category
    { id: 22, image_id: 77, category_id: 3, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0 }, // unknown image
    { id: 5, image_id: 10, category_id: 3, bbox: [30, 30, 10, 10], area: 100, iscrowd: 0 }, // id 5 used twice
  ]);
  const cfg = dataCfg(dir, [{ type: 'LoadImageFromFile' }]);
  const err = await (async () => detectionTask.buildDataset(cfg, 'train', ctx(dir)))().catch((e: Error) => e);
  expect((err as Error).message).toBe(
    `${path.join(dir, 'ann.json')}: invalid ground truth: 1 annotation id(s) used by more than one annotation (ids 5); ` +
      `1 annotation(s) with a bbox width or height <= 0 (ids 20); 1 annotation(s) of a category_id not in 'categories' (ids 21); ` +
      `1 annotation(s) of an image_id not in 'images' (ids 22); fix the file or pass --skip-bad-samples to drop these annotations and images`,
  );
  const logs: string[] = [];
  const ds = (await detectionTask.buildDataset(cfg, 'train', ctx(dir, { skipBadSamples: true, log: (l) => logs.push(l) }))) as CocoDetDataset;
  expect(logs.join('\n')).toMatch(/dropped 4 annotation\(s\) and 0 image\(s\)/);
  expect(ds.coco.dataset.annotations!.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
  expect(Array.from(ds.info(0).ann!.labels)).toEqual([1, 0]);
});

test('evaluation shows progress, as segmentation does', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-progress-'));
  await makeCoco(dir);
  const cfg = { data: { test: (dataCfg(dir, [{ type: 'LoadImageFromFile' }, { type: 'Normalize', ...NORM }, { type: 'DefaultFormatBundle' }, { type: 'Collect', keys: ['img'] }]).data as ConfigNode).train } } as ConfigNode;
  const ds = (await detectionTask.buildDataset(cfg, 'test', ctx(dir))) as CocoDetDataset;
  // a stand-in detector: no boxes, so only the loop and its log are exercised
  const model = { eval: () => {}, simpleTest: async (_imgs: tf.Tensor, metas: unknown[]) => metas.map(() => ({ bboxes: new Float32Array(0), labels: new Int32Array(0) })) };
  const lines: string[] = [];
  const results = await runInference(model as unknown as Parameters<typeof runInference>[0], ds, { log: (l) => lines.push(l) });
  expect(results).toEqual([]);
  expect(lines).toEqual([expect.stringMatching(/^\[eval\] 3\/3 images, \d+ ms\/img$/)]);
});

test('config errors: missing COCO says where to put it, missing pretrained says where to get it, unknown dataset type', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'det-cfg-'));
  const coco = { data: { train: { type: 'CocoDataset', ann_file: 'data/coco/annotations/instances_train2017.json', img_prefix: 'data/coco/train2017/', pipeline: [] } } };
  await expect(async () => detectionTask.buildDataset(coco, 'train', ctx(root))).rejects.toThrow(/test\.yaml: data\.train\.ann_file: .*not found\. COCO 2017 is expected .* under data\/coco\//);
  await expect(async () => detectionTask.buildDataset({ data: { train: { type: 'VOCDataset' } } }, 'train', ctx(root))).rejects.toThrow(/data\.train\.type: unknown dataset type 'VOCDataset'/);
  // The S config as shipped: building works without the ImageNet file; starting a fresh run names it.
  const loaded = loadConfig('retinanet_litv2_s_ws2', { configsDir: path.join(repoRoot, 'configs') });
  const det = buildDetector(loaded.cfg.model as ConfigNode, loaded.file);
  const cwd = process.cwd();
  process.chdir(root);
  try {
    await expect(det.loadInitCheckpoints()).rejects.toThrow(ConfigError);
    await expect(det.loadInitCheckpoints()).rejects.toThrow(/retinanet_litv2_s_ws2\.yaml: model\.backbone\.init_cfg\.checkpoint: pretrained checkpoint 'checkpoints\/litv2_s\.pth' not found.*github\.com\/ziplab\/LITv2.*--cfg-options model\.backbone\.init_cfg=null/);
  } finally {
    process.chdir(cwd);
    det.dispose();
  }
  expect(() => buildDetector({ type: 'RetinaNet', backbone: { type: 'LITv2' }, neck: { type: 'FPN', in_channels: [96, 192, 384, 768], out_channels: 8, num_outs: 5, start_level: 1, add_extra_convs: 'on_input' }, bbox_head: { type: 'RetinaHed' } }, 'm.yaml')).toThrow(/m\.yaml: model\.bbox_head\.type: unknown head type 'RetinaHed' \(did you mean 'RetinaHead'\?\)/);
});

test('COCO bbox evaluation: perfect detections give AP 1, results use [x, y, w, h] and category ids', () => {
  const gt = new COCO({
    images: [{ id: 1, width: 100, height: 100 }],
    categories: [{ id: 7, name: 'b' }, { id: 3, name: 'a' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 3, bbox: [10, 10, 30, 40], area: 1200, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 7, bbox: [50, 50, 40, 30], area: 1200, iscrowd: 0 },
    ],
  });
  const res = detectionsToCoco(1, { bboxes: Float32Array.from([10, 10, 40, 50, 0.9, 50, 50, 90, 80, 0.8]), labels: Int32Array.from([1, 0]) }, [7, 3]);
  expect(res[0]).toEqual({ image_id: 1, category_id: 3, bbox: [10, 10, 30, 40], score: expect.closeTo(0.9, 6) });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'det-eval-')), 'r.json');
  const { metrics, table } = evaluateCocoBbox(gt, res, [1], out);
  expect(metrics.bbox_mAP).toBeCloseTo(1, 6);
  // The 12 summary lines, then the per-category table (heading, 3 rules, header, one row of both categories).
  expect(table.split('\n').slice(0, 12).every((l) => /^ Average (Precision|Recall) /.test(l))).toBe(true);
  expect(table.split('\n').slice(12)).toHaveLength(6);
  expect(table).toMatch(/\| a +\| 1\.000 \| b +\| 1\.000 \|/);
  expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(2);
});

test('a full RetinaNet train step (LITv2 + FPN + RetinaHead + AdamW) keeps the tensor count flat and lowers the loss', () => {
  const E = 8;
  const model = buildDetector({
    type: 'RetinaNet',
    backbone: { type: 'LITv2', embed_dim: E, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], alpha: 0.5, local_ws: [0, 0, 2, 1], drop_path_rate: 0.1 },
    neck: { type: 'FPN', in_channels: [E, 2 * E, 4 * E, 8 * E], out_channels: 8, start_level: 1, add_extra_convs: 'on_input', num_outs: 5 },
    bbox_head: { type: 'RetinaHead', num_classes: 3, in_channels: 8, feat_channels: 8, stacked_convs: 1, anchor_generator: { type: 'AnchorGenerator', octave_base_scale: 4, scales_per_octave: 3, ratios: [0.5, 1, 2], strides: [8, 16, 32, 64, 128] } },
    train_cfg: { assigner: { type: 'MaxIoUAssigner', pos_iou_thr: 0.5, neg_iou_thr: 0.4, min_pos_iou: 0, ignore_iof_thr: -1 }, allowed_border: -1, pos_weight: -1 },
    test_cfg: { nms_pre: 1000, score_thr: 0.05, nms: { type: 'nms', iou_threshold: 0.5 }, max_per_img: 100 },
  });
  model.train();
  const opt = buildOptimizer(model, { type: 'AdamW', lr: 1e-3, weight_decay: 1e-4 });
  const meta = (h: number, w: number) => ({ ori_shape: [h, w, 3], img_shape: [h, w, 3], pad_shape: [32, 32, 3], scale_factor: [1, 1, 1, 1], flip: false });
  const batch = {
    imgs: tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D,
    metas: [meta(32, 32), meta(25, 20)],
    gt_bboxes: [tf.tensor2d([[2, 3, 20, 22], [15, 10, 30, 25]]), tf.zeros([0, 4]) as tf.Tensor2D],
    gt_labels: [tf.tensor1d([2, 0], 'int32'), tf.zeros([0], 'int32') as tf.Tensor1D],
    gt_bboxes_ignore: [],
    samples: [],
  } as unknown as DetBatch;
  const vars = Object.fromEntries(model.namedParameters());
  const losses: number[] = [];
  let count = -1;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() => tf.addN(Object.values(model.forwardTrain(batch))) as tf.Scalar, Object.values(vars));
    const named: Record<string, tf.Tensor> = {};
    for (const [n, v] of Object.entries(vars)) named[n] = grads[v.name];
    opt.step(named);
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
    if (i === 1) count = tf.memory().numTensors;
    if (i === 2) expect(tf.memory().numTensors).toBe(count);
  }
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[2]).toBeLessThan(losses[0]);
  opt.dispose();
  model.dispose();
  tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels]);
});

test('sharded evaluation (2 ranks, gathered on rank 0) equals single-process evaluation exactly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-shard-'));
  await makeCoco(dir);
  const cfg = { data: { test: (dataCfg(dir, [{ type: 'LoadImageFromFile' }, { type: 'Normalize', ...NORM }, { type: 'DefaultFormatBundle' }, { type: 'Collect', keys: ['img'] }]).data as ConfigNode).train } } as ConfigNode;
  const ds = (await detectionTask.buildDataset(cfg, 'test', ctx(dir))) as CocoDetDataset;
  // A stand-in detector with boxes near the GT of each image, some with tied scores (order-sensitive).
  const model = {
    eval: () => {},
    simpleTest: async (_imgs: tf.Tensor, metas: { ori_shape: number[] }[]) =>
      metas.map((m) => {
        const [h, w] = m.ori_shape;
        const boxes = [[10, 5, 40, 25, 0.9], [50, 30, 70, 55, 0.5], [2, 3, 22, 33, 0.5], [0, 0, w / 2, h / 2, 0.5], [w / 3, h / 3, w, h, 0.3]];
        return { bboxes: Float32Array.from(boxes.flat()), labels: Int32Array.from([1, 0, 1, 1, 0]) };
      }),
  } as unknown as Parameters<typeof detectionTask.evaluate>[0];
  const opts = { workDir: dir, log: () => {} };
  const single = await detectionTask.evaluate(model, ds, cfg, opts);
  expect(single.metrics.bbox_mAP).toBeGreaterThan(0);
  // Rank 1 runs first and leaves its part; rank 0's gather returns both (what ProcessGroup.allgatherJson does).
  let fromRank1: unknown;
  const r1 = await detectionTask.evaluate(model, ds, cfg, { ...opts, shard: { rank: 1, worldSize: 2, gather: <T>(v: T): T[] => ((fromRank1 = JSON.parse(JSON.stringify(v))), [v, v]) } });
  expect(r1.metrics).toEqual({});
  const r0 = await detectionTask.evaluate(model, ds, cfg, { ...opts, out: path.join(dir, 'sharded.json'), shard: { rank: 0, worldSize: 2, gather: <T>(v: T): T[] => [JSON.parse(JSON.stringify(v)) as T, fromRank1 as T] } });
  expect(r0.metrics).toEqual(single.metrics);
  expect(r0.table).toEqual(single.table);
  // Rank 0 saw images 0 and 2, rank 1 image 1: both parts were needed.
  expect((fromRank1 as unknown[]).length).toBe(5);
});
