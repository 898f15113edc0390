import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildOptimizer, Rng, seedEverything, type ConfigNode } from '@litv2/core';
import { encodeRgbPng, initBackend } from '@litv2/core/node';
import { COCO, decode, frPoly, merge } from '@litv2/cocoapi';
import { buildDetector, collateDetection, detectionTask, evaluateCoco, masksToCoco, polygonsToBitmaps, type DetBatch } from '@litv2/detection';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const E = 8;
const tinyMaskRcnn = (): ConfigNode => ({
  type: 'MaskRCNN',
  backbone: { type: 'LITv2', variant: 'det', embed_dim: E, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], alpha: 0.5, local_ws: [0, 0, 2, 1], drop_path_rate: 0 },
  neck: { type: 'FPN', in_channels: [E, 2 * E, 4 * E, 8 * E], out_channels: 8, num_outs: 5 },
  rpn_head: { type: 'RPNHead', in_channels: 8, feat_channels: 8, anchor_generator: { type: 'AnchorGenerator', scales: [8], ratios: [0.5, 1, 2], strides: [4, 8, 16, 32, 64] } },
  roi_head: {
    type: 'StandardRoIHead',
    bbox_roi_extractor: { type: 'SingleRoIExtractor', roi_layer: { type: 'RoIAlign', output_size: 7, sampling_ratio: 0 }, out_channels: 8, featmap_strides: [4, 8, 16, 32] },
    bbox_head: { type: 'Shared2FCBBoxHead', in_channels: 8, fc_out_channels: 16, num_classes: 3, bbox_coder: { target_stds: [0.1, 0.1, 0.2, 0.2] } },
    mask_roi_extractor: { type: 'SingleRoIExtractor', roi_layer: { type: 'RoIAlign', output_size: 14, sampling_ratio: 0 }, out_channels: 8, featmap_strides: [4, 8, 16, 32] },
    mask_head: { type: 'FCNMaskHead', num_convs: 1, in_channels: 8, conv_out_channels: 8, num_classes: 3 },
  },
  train_cfg: {
    rpn: { assigner: { type: 'MaxIoUAssigner', pos_iou_thr: 0.7, neg_iou_thr: 0.3, min_pos_iou: 0.3, match_low_quality: true, ignore_iof_thr: -1 }, sampler: { type: 'RandomSampler', num: 64, pos_fraction: 0.5, add_gt_as_proposals: false }, allowed_border: -1, pos_weight: -1 },
    rpn_proposal: { nms_pre: 200, max_per_img: 100, nms: { type: 'nms', iou_threshold: 0.7 }, min_bbox_size: 0 },
    rcnn: { assigner: { type: 'MaxIoUAssigner', pos_iou_thr: 0.5, neg_iou_thr: 0.5, min_pos_iou: 0.5, match_low_quality: true, ignore_iof_thr: -1 }, sampler: { type: 'RandomSampler', num: 64, pos_fraction: 0.25, add_gt_as_proposals: true }, mask_size: 28, pos_weight: -1 },
  },
  test_cfg: { rpn: { nms_pre: 200, max_per_img: 100, nms: { type: 'nms', iou_threshold: 0.7 }, min_bbox_size: 0 }, rcnn: { score_thr: 0.05, nms: { type: 'nms', iou_threshold: 0.5 }, max_per_img: 20, mask_thr_binary: 0.5 } },
});

test('a full Mask R-CNN train step (LITv2 + FPN + RPN + RoI heads + AdamW): five losses, flat tensor count, loss goes down; test gives masks', async () => {
  seedEverything(1);
  const model = buildDetector(tinyMaskRcnn());
  model.train();
  const opt = buildOptimizer(model, { type: 'AdamW', lr: 2e-3, weight_decay: 1e-4 });
  const meta = (h: number, w: number) => ({ ori_shape: [h, w, 3], img_shape: [h, w, 3], pad_shape: [64, 64, 3], scale_factor: [1, 1, 1, 1], flip: false });
  const batch = {
    imgs: tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D,
    metas: [meta(64, 64), meta(50, 40)],
    gt_bboxes: [tf.tensor2d([[4, 6, 40, 44], [30, 20, 60, 50]]), tf.tensor2d([[5, 5, 30, 35]])],
    gt_labels: [tf.tensor1d([2, 0], 'int32'), tf.tensor1d([1], 'int32')],
    gt_bboxes_ignore: [tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0, 4]) as tf.Tensor2D],
    gt_masks: [[[[4, 6, 40, 6, 22, 44]], [[30, 20, 60, 20, 60, 50, 30, 50]]], [[[5, 5, 30, 5, 30, 35, 5, 35]]]],
    samples: [],
  } as unknown as DetBatch;
  const vars = Object.fromEntries(model.namedParameters());
  const losses: number[] = [];
  let count = -1;
  for (let i = 0; i < 4; i++) {
    const { value, grads } = tf.variableGrads(() => {
      const l = model.forwardTrain(batch);
      if (i === 0) expect(Object.keys(l).sort()).toEqual(['loss_bbox', 'loss_cls', 'loss_mask', 'loss_rpn_bbox', 'loss_rpn_cls']);
      return tf.addN(Object.values(l)) as tf.Scalar;
    }, Object.values(vars));
    const named: Record<string, tf.Tensor> = {};
    for (const [n, v] of Object.entries(vars)) named[n] = grads[v.name];
    opt.step(named);
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...Object.values(grads)]);
    if (i === 2) count = tf.memory().numTensors;
    if (i === 3) expect(tf.memory().numTensors).toBe(count);
  }
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[3]).toBeLessThan(losses[0]);
  model.eval();
  const before = tf.memory().numTensors;
  const res = await (model as unknown as { simpleTestWithMasks: (i: tf.Tensor4D, m: unknown[], r: boolean) => Promise<{ dets: { labels: Int32Array }; masks: { masks: unknown[]; height: number } | null }[]> })
    .simpleTestWithMasks(batch.imgs, batch.metas, true);
  expect(tf.memory().numTensors).toBe(before);
  expect(res).toHaveLength(2);
  for (const [i, r] of res.entries()) {
    expect(r.masks!.masks.length).toBe(r.dets.labels.length);
    expect(r.masks!.height).toBe(batch.metas[i].ori_shape[0]);
  }
  opt.dispose();
  model.dispose();
  tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels, ...batch.gt_bboxes_ignore]);
});

test('polygonsToBitmaps equals the COCO polygon rasteriser (row-major, padded size)', () => {
  const polys = [[2, 2, 12, 2, 7, 10]];
  const t = polygonsToBitmaps([polys, []], 16, 20);
  expect(t.shape).toEqual([2, 16, 20]);
  const d = t.dataSync();
  const m = decode(merge(frPoly(polys, 16, 20)));
  let same = true;
  for (let y = 0; y < 16; y++) for (let x = 0; x < 20; x++) if (d[y * 20 + x] !== m.data[x * 16 + y]) same = false;
  expect(same).toBe(true);
  expect(d.slice(320).every((v) => v === 0)).toBe(true);
  expect(d.slice(0, 320).some((v) => v === 1)).toBe(true);
  t.dispose();
});

async function makeMaskCoco(dir: string, extraAnns: object[] = []): Promise<void> {
  fs.mkdirSync(path.join(dir, 'img'), { recursive: true });
  for (const i of [0, 1]) {
    const data = new Uint8Array(40 * 60 * 3).map((_, k) => (k * 5 + i) % 251);
    fs.writeFileSync(path.join(dir, 'img', `${i}.png`), await encodeRgbPng({ data, height: 40, width: 60, channels: 3 }));
  }
  fs.writeFileSync(path.join(dir, 'ann.json'), JSON.stringify({
    images: [0, 1].map((i) => ({ id: 20 + i, file_name: `${i}.png`, height: 40, width: 60 })),
    categories: [{ id: 1, name: 'a' }],
    annotations: [
      { id: 1, image_id: 20, category_id: 1, bbox: [10, 5, 20, 20], area: 200, iscrowd: 0, segmentation: [[10, 5, 30, 5, 20, 25]] },
      { id: 2, image_id: 20, category_id: 1, bbox: [0, 0, 8, 8], area: 64, iscrowd: 1, segmentation: { size: [40, 60], counts: [0, 8, 2392] } },
      { id: 3, image_id: 21, category_id: 1, bbox: [5, 5, 10, 10], area: 100, iscrowd: 0, segmentation: [[5, 5, 15, 5, 15, 15, 5, 15]] },
      ...extraAnns,
    ],
  }));
}

const maskPipeline: ConfigNode[] = [
  { type: 'LoadImageFromFile' }, { type: 'LoadAnnotations', with_bbox: true, with_mask: true },
  { type: 'Resize', img_scale: [120, 80], keep_ratio: true }, { type: 'RandomFlip', flip_ratio: 1.0 },
  { type: 'Normalize', mean: [0, 0, 0], std: [1, 1, 1], to_rgb: true }, { type: 'Pad', size_divisor: 32 },
  { type: 'DefaultFormatBundle' }, { type: 'Collect', keys: ['img', 'gt_bboxes', 'gt_labels', 'gt_masks'] },
];
const dataCfg = (dir: string): ConfigNode => ({ data: { train: { type: 'CocoDataset', ann_file: path.join(dir, 'ann.json'), img_prefix: path.join(dir, 'img'), pipeline: maskPipeline } } });
const ctx = (dir: string, extra: Partial<{ skipBadSamples: boolean; log: (l: string) => void }> = {}) => ({ configFile: 'test.yaml', repoRoot: dir, skipBadSamples: false, log: () => {}, ...extra });

test('mask loading: polygons of non-crowd instances (crowd RLE ignored) are resized and flipped with the image and collated', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-mask-'));
  await makeMaskCoco(dir);
  const ds = await detectionTask.buildDataset(dataCfg(dir), 'train', ctx(dir));
  const s = (await ds.get(0, new Rng(1)))!;
  expect(s.gt_masks).toHaveLength(1);
  // x2 resize (60x40 -> 120x80) then a horizontal flip of width 120: x -> 120 - 2x, y -> 2y.
  expect(s.gt_masks![0][0]).toEqual([100, 10, 60, 10, 80, 50]);
  const batch = collateDetection([s]);
  expect(batch.gt_masks).toEqual([s.gt_masks]);
  tf.dispose([batch.imgs, ...batch.gt_bboxes, ...batch.gt_labels, ...batch.gt_bboxes_ignore]);
});

test('bad masks name the annotation id (short polygon, NaN, RLE of the wrong size); --skip-bad-samples logs and skips', async () => {
  const cases: [object, RegExp][] = [
    [{ segmentation: [[1, 1, 5, 5]] }, /annotation id 9 \(image 21\) has an invalid polygon 0/],
    [{ segmentation: [[1, 1, 5, 5, 'x', 2]] }, /annotation id 9 \(image 21\) has an invalid polygon 0/],
    [{ segmentation: { size: [30, 60], counts: [0, 10] } }, /annotation id 9 \(image 21\) has an RLE mask of size \[30,60\], but the image is 40x60/],
  ];
  for (const [extra, re] of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-badmask-'));
    await makeMaskCoco(dir, [{ id: 9, image_id: 21, category_id: 1, bbox: [1, 1, 6, 6], area: 30, iscrowd: 0, ...extra }]);
    await expect(async () => detectionTask.buildDataset(dataCfg(dir), 'train', ctx(dir))).rejects.toThrow(re);
    const logs: string[] = [];
    const ds = await detectionTask.buildDataset(dataCfg(dir), 'train', ctx(dir, { skipBadSamples: true, log: (l) => logs.push(l) }));
    expect(ds.length).toBe(1);
    expect(logs.join('\n')).toMatch(/skipping image 21/);
  }
});

test('COCO segm evaluation: the gt masks as results give mask AP 1; results are compressed RLE with category ids', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'det-segm-'));
  await makeMaskCoco(dir);
  const gt = new COCO(path.join(dir, 'ann.json'));
  const mask = (poly: number[]) => decode(merge(frPoly([poly], 40, 60)));
  const res = [
    ...masksToCoco(20, { bboxes: Float32Array.from([10, 5, 30, 25, 0.9]), labels: Int32Array.from([0]) }, [mask([10, 5, 30, 5, 20, 25])], [1]),
    ...masksToCoco(21, { bboxes: Float32Array.from([5, 5, 15, 15, 0.8, 0, 0, 0, 0, 0.3]), labels: Int32Array.from([0, 0]) }, [mask([5, 5, 15, 5, 15, 15, 5, 15]), null], [1]),
  ];
  expect(res).toHaveLength(2);
  expect(typeof (res[0].segmentation as { counts: unknown }).counts).toBe('string');
  const out = path.join(dir, 'r.segm.json');
  const { metrics, table } = evaluateCoco(gt, res, [20, 21], 'segm', out);
  expect(metrics.segm_mAP).toBeCloseTo(1, 6);
  expect(table).toMatch(/per-category segm AP/);
  expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveLength(2);
});
