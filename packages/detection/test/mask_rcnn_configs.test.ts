import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfigNode } from '@litv2/core';
import { initBackend, loadConfig } from '@litv2/core/node';
import { buildDetector, TwoStageDetector } from '@litv2/detection';
import { repoRoot } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const configsDir = path.join(repoRoot, 'configs');
const load = (n: string) => loadConfig(n, { configsDir }).cfg;
const SIZES = ['s', 'm', 'b'] as const;
const long = process.env.LITV2_LONG_TESTS === '1';

/**
 * Parameter counts (buffers excluded). S = 27,076,152 backbone + 2,729,984 FPN (4 laterals, 4 output convs,
 * P6 by max-pool) + 593,935 RPN + 14,306,705 Shared2FC box head (12544->1024->1024, 81 cls, 320 reg) + 2,643,280
 * FCN mask head (4 convs, deconv, 80 logits) = 47.35 M (paper 47 M); M 68.34 M (68 M); B 105.89 M (106 M).
 */
const PARAMS: Record<string, number> = { s: 47_350_056, m: 68_336_424, b: 105_894_024 };
const PAPER: Record<string, number> = { s: 47e6, m: 68e6, b: 106e6 };

test.each(SIZES.flatMap((s) => [2, 4].map((ws) => [s, ws] as const)))('mask_rcnn_litv2_%s_ws%d parses with the authors\' values', (size, ws) => {
  const cfg = load(`mask_rcnn_litv2_${size}_ws${ws}`);
  const m = cfg.model as ConfigNode & Record<string, ConfigNode>;
  expect(m.type).toBe('MaskRCNN');
  expect(m.backbone).toMatchObject({ local_ws: [0, 0, ws, 1], alpha: 0.9, drop_path_rate: size === 'b' ? 0.3 : 0.2, use_checkpoint: size === 'b' });
  expect(m.neck).toMatchObject({ type: 'FPN', out_channels: 256, num_outs: 5 });
  expect(m.neck.start_level ?? 0).toBe(0);
  expect(m.rpn_head).toMatchObject({ type: 'RPNHead', anchor_generator: { scales: [8], ratios: [0.5, 1, 2], strides: [4, 8, 16, 32, 64] } });
  expect(m.roi_head).toMatchObject({ type: 'StandardRoIHead', bbox_head: { fc_out_channels: 1024, num_classes: 80 }, mask_head: { num_convs: 4, num_classes: 80 } });
  expect(m.train_cfg).toMatchObject({ rpn: { sampler: { num: 256, pos_fraction: 0.5 } }, rpn_proposal: { nms_pre: 2000, max_per_img: 1000 }, rcnn: { sampler: { num: 512, pos_fraction: 0.25, add_gt_as_proposals: true }, mask_size: 28 } });
  expect(m.test_cfg).toMatchObject({ rpn: { nms_pre: 1000, max_per_img: 1000 }, rcnn: { score_thr: 0.05, max_per_img: 100, mask_thr_binary: 0.5 } });
  expect(cfg.optimizer).toMatchObject({ type: 'AdamW', lr: 2e-4, weight_decay: 1e-4, paramwise_cfg: { custom_keys: { norm: { decay_mult: 0 } } } });
  expect(cfg.lr_config).toMatchObject({ policy: 'step', warmup: 'linear', step: [8, 11] });
  const train = ((cfg.data as ConfigNode).train as ConfigNode).pipeline as ConfigNode[];
  expect(train[1]).toMatchObject({ type: 'LoadAnnotations', with_bbox: true, with_mask: true });
  expect(train[2]).toMatchObject({ img_scale: [1333, 800], keep_ratio: true });
  expect(train[train.length - 1]).toMatchObject({ keys: ['img', 'gt_bboxes', 'gt_labels', 'gt_masks'] });
});

test('the mask_rcnn ws2 and ws4 config files differ in exactly one line', () => {
  for (const s of SIZES) {
    const a = fs.readFileSync(path.join(configsDir, `detection/mask_rcnn_litv2_${s}_ws2.yaml`), 'utf8').split('\n');
    const b = fs.readFileSync(path.join(configsDir, `detection/mask_rcnn_litv2_${s}_ws4.yaml`), 'utf8').split('\n');
    expect(a.length).toBe(b.length);
    expect(a.filter((l, i) => l !== b[i])).toEqual(['    local_ws: [0, 0, 2, 1]']);
  }
});

test('asserted parameter counts are within 2% of the paper (47 / 68 / 106 M)', () => {
  for (const s of SIZES) expect(Math.abs(PARAMS[s] / PAPER[s] - 1)).toBeLessThan(0.02);
});

test.each(SIZES.flatMap((s) => [2, 4].map((ws) => [s, ws] as const)).filter(([s, ws]) => long || (s === 's' && ws === 2)))(
  'mask_rcnn_litv2_%s_ws%d builds with the exact parameter count and mmdet state-dict names',
  (size, ws) => {
    const m = load(`mask_rcnn_litv2_${size}_ws${ws}`).model as ConfigNode & { backbone: ConfigNode };
    const det = buildDetector({ ...m, backbone: { ...m.backbone, init_cfg: null } });
    expect(det).toBeInstanceOf(TwoStageDetector);
    expect(det.numParameters()).toBe(PARAMS[size]);
    expect(Object.keys(det.stateDictSpec())).toEqual(expect.arrayContaining([
      'neck.fpn_convs.3.conv.weight', 'rpn_head.rpn_cls.weight', 'roi_head.bbox_head.shared_fcs.1.weight', 'roi_head.bbox_head.fc_reg.bias',
      'roi_head.mask_head.convs.3.conv.weight', 'roi_head.mask_head.upsample.weight', 'roi_head.mask_head.conv_logits.bias',
    ]));
    det.dispose();
  },
);

test('a typo in the two-stage train_cfg names the key', () => {
  const m = load('mask_rcnn_litv2_tiny_synthetic').model as ConfigNode & { train_cfg: ConfigNode };
  expect(() => buildDetector({ ...m, train_cfg: { ...m.train_cfg, rcnnn: {} } })).toThrow(/train_cfg\.rcnnn/);
});
