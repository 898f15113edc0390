import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { seedEverything, type ConfigNode } from '@litv2/core';
import { initBackend, loadConfig } from '@litv2/core/node';
import { segmentorFromConfig, type EncoderDecoder } from '../src/models';
import { repoRoot } from './helpers/paths';

/** A small Semantic FPN (tiny LITv2) for shape and bookkeeping checks. */
function tinyConfig(numClasses = 5): ConfigNode {
  return {
    type: 'EncoderDecoder',
    backbone: { type: 'LITv2', variant: 'seg', embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], local_ws: [0, 0, 2, 1], alpha: 0.5 },
    neck: { type: 'FPN', in_channels: [16, 32, 64, 128], out_channels: 16, num_outs: 4 },
    decode_head: {
      type: 'FPNHead', in_channels: [16, 16, 16, 16], in_index: [0, 1, 2, 3], feature_strides: [4, 8, 16, 32], channels: 8,
      dropout_ratio: 0.1, num_classes: numClasses, norm_cfg: { type: 'BN', requires_grad: true }, align_corners: false,
      loss_decode: { type: 'CrossEntropyLoss', use_sigmoid: false, loss_weight: 1.0 },
    },
    test_cfg: { mode: 'whole' },
  };
}

describe('Semantic FPN model', () => {
  let model: EncoderDecoder;
  beforeAll(async () => {
    await initBackend({ quiet: true });
    seedEverything(3);
    model = segmentorFromConfig(tinyConfig(), { path: 'model' });
  });
  afterAll(() => model.dispose());

  test('head output is at stride 4 (size of the finest FPN level, odd sizes included) with num_classes channels', () => {
    model.eval();
    for (const [h, w] of [[64, 96], [50, 66]]) {
      const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const feats = model.extractFeat(x);
      const logits = model.decodeHead.forward(feats);
      expect(logits.shape).toEqual([2, Math.ceil(h / 4), Math.ceil(w / 4), 5]);
      expect(logits.shape.slice(1, 3)).toEqual(feats[0].shape.slice(1, 3));
      const full = model.encodeDecode(x);
      expect(full.shape).toEqual([2, h, w, 5]);
      tf.dispose([x, ...feats, logits, full]);
    }
  });

  test('test-time: logits are resized back to ori_shape, probabilities sum to 1, labels are in range', () => {
    model.eval();
    const x = tf.randomNormal([1, 64, 80, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const meta = { ori_shape: [37, 45, 3] as [number, number, number], img_shape: [64, 80, 3] as [number, number, number], flip: false };
    const prob = model.inference(x, meta, true);
    expect(prob.shape).toEqual([1, 37, 45, 5]);
    const sums = tf.tidy(() => prob.sum(-1).sub(1).abs().max().dataSync()[0]);
    expect(sums).toBeLessThan(1e-5);
    const pred = model.simpleTest(x, meta, true);
    expect(pred.shape).toEqual([37, 45]);
    const v = pred.dataSync();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThan(5);
    // without rescale the map stays at the network input size
    const raw = model.inference(x, meta, false);
    expect(raw.shape).toEqual([1, 64, 80, 5]);
    // an image marked as flipped by the test pipeline gets its prediction flipped back
    const flipped = model.inference(x, { ...meta, flip: true, flip_direction: 'horizontal' }, false);
    const d = tf.tidy(() => flipped.sub(tf.reverse(raw, 2)).abs().max().dataSync()[0]);
    expect(d).toBeLessThan(1e-4);
    tf.dispose([x, prob, pred, raw, flipped]);
  });

  test("slide inference covers every pixel and equals whole inference when one window covers the image", () => {
    model.eval();
    const x = tf.randomNormal([1, 48, 72, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const meta = { ori_shape: [48, 72, 3] as [number, number, number], img_shape: [48, 72, 3] as [number, number, number], flip: false };
    const whole = model.wholeInference(x, meta, false);
    const slide = segmentorFromConfig({ ...tinyConfig(), test_cfg: { mode: 'slide', crop_size: [64, 96], stride: [32, 32] } });
    slide.loadStateDict(model.stateDict());
    slide.eval();
    const one = slide.slideInference(x, meta, false);
    expect(tf.tidy(() => one.sub(whole).abs().max().dataSync()[0])).toBeLessThan(1e-5);
    const small = segmentorFromConfig({ ...tinyConfig(), test_cfg: { mode: 'slide', crop_size: [32, 32], stride: [21, 21] } });
    small.loadStateDict(model.stateDict());
    small.eval();
    const many = small.slideInference(x, meta, true);
    expect(many.shape).toEqual([1, 48, 72, 5]);
    expect(tf.tidy(() => many.isNaN().any().dataSync()[0])).toBe(0);
    tf.dispose([x, whole, one, many]);
    slide.dispose();
    small.dispose();
  });

  test('forwardTrain returns decode.loss_seg / decode.acc_seg and ignores 255 pixels', () => {
    model.train();
    const imgs = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = tf.fill([2, 32, 32], 255, 'int32') as tf.Tensor3D;
    const batch = { imgs, metas: [], samples: [], gt_semantic_seg: labels };
    const before = tf.memory().numTensors;
    const out = model.forwardTrain(batch);
    expect(Object.keys(out).sort()).toEqual(['decode.acc_seg', 'decode.loss_seg']);
    expect(out['decode.loss_seg'].dataSync()[0]).toBe(0); // every pixel ignored
    expect(out['decode.acc_seg'].dataSync()[0]).toBe(0);
    tf.dispose(Object.values(out));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([imgs, labels]);
    model.eval();
  });

  test('mmseg parameter names', () => {
    const names = Object.keys(model.stateDictSpec());
    for (const n of [
      'backbone.patch_embed.proj.weight', 'backbone.norm0.weight', 'backbone.norm3.bias',
      'neck.lateral_convs.0.conv.weight', 'neck.fpn_convs.3.conv.bias',
      'decode_head.scale_heads.0.0.conv.weight', 'decode_head.scale_heads.0.0.bn.running_var', 'decode_head.scale_heads.0.0.bn.num_batches_tracked',
      'decode_head.scale_heads.3.4.bn.weight', 'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias',
    ]) expect(names).toContain(n);
    // Upsample entries hold no weights: indices 1, 3, 5 never appear.
    expect(names.some((n) => /^decode_head\.scale_heads\.\d\.[135]\./.test(n))).toBe(false);
    expect(names.some((n) => n.includes('scale_heads.0.0.conv.bias'))).toBe(false); // conv bias off under BN
  });
});

describe('configs/segmentation/sem_fpn_litv2_s_ade20k.yaml (full config parse)', () => {
  beforeAll(() => initBackend({ quiet: true }));
  test('schedule, pipeline and model keys resolve; parameter count is 31,449,486 (paper: 31 M)', () => {
    const { cfg, file } = loadConfig('sem_fpn_litv2_s_ade20k', { configsDir: path.join(repoRoot, 'configs') });
    expect(cfg.optimizer).toMatchObject({ type: 'AdamW', lr: 1e-4, weight_decay: 1e-4 });
    expect(cfg.lr_config).toMatchObject({ policy: 'poly', power: 0.9, min_lr: 1e-6, by_epoch: false });
    expect(cfg.runner).toMatchObject({ type: 'IterBasedRunner', max_iters: 80000 });
    expect(cfg.evaluation).toMatchObject({ interval: 8000 });
    expect(cfg.checkpoint_config).toMatchObject({ interval: 8000, by_epoch: false });
    const data = cfg.data as { train: { type: string; pipeline: { type: string }[] }; test: { pipeline: { type: string; img_scale?: number[] }[] } };
    expect(data.train.type).toBe('ADE20KDataset');
    expect(data.train.pipeline.map((t) => t.type)).toEqual(['LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomCrop', 'RandomFlip', 'PhotoMetricDistortion', 'Normalize', 'Pad', 'DefaultFormatBundle', 'Collect']);
    expect(data.test.pipeline[1].img_scale).toEqual([2048, 512]);
    const m = segmentorFromConfig(cfg.model as ConfigNode, { file, path: 'model' });
    try {
      const count = (prefix: string) => m.namedParameters().filter(([n]) => n.startsWith(prefix)).reduce((a, [, v]) => a + v.size, 0);
      // backbone (SPEC §1: seg copy with norm0..3) + FPN (1x1 laterals 1440·256+4·256, four 3x3 256->256 with bias)
      // + FPNHead (3x3 256->128 no bias + BN per first conv, 128->128 for the rest, 1x1 conv_seg 128->150).
      expect(count('backbone.')).toBe(27_076_344);
      expect(count('neck.')).toBe(369_664 + 2_360_320);
      expect(count('decode_head.')).toBe(4 * 295_168 + 3 * 147_712 + 19_350);
      expect(m.numParameters()).toBe(31_449_486);
    } finally {
      m.dispose();
    }
  });
});

describe('mmseg model.pretrained', () => {
  beforeAll(() => initBackend({ quiet: true }));
  test('becomes the backbone init_cfg: loaded (non-strictly, with a key report) when a run starts', async () => {
    const tinyPth = path.resolve(repoRoot, '../shared/reference/litv2/fixtures/litv2_tiny.pth');
    const cfg = tinyConfig();
    cfg.backbone = { ...(cfg.backbone as ConfigNode), embed_dim: 48, depths: [1, 1, 2, 1], num_heads: [3, 6, 12, 24], alpha: 0.9 };
    cfg.neck = { ...(cfg.neck as ConfigNode), in_channels: [48, 96, 192, 384] };
    const m = segmentorFromConfig({ ...cfg, pretrained: tinyPth }, { file: 'seg.yaml', path: 'model' }) as EncoderDecoder;
    const lines: string[] = [];
    await m.loadInitCheckpoints((l) => lines.push(l));
    // seg backbone: the output norms norm0..3 are not in an ImageNet checkpoint; its head and final norm are unused
    expect(lines).toEqual([expect.stringMatching(/^backbone: loaded .*litv2_tiny\.pth: 8 missing \[norm0\.weight.*4 unexpected \[norm\.weight/)]);
    m.dispose();
    expect(() => segmentorFromConfig({ ...cfg, pretrained: tinyPth, backbone: { ...(cfg.backbone as ConfigNode), init_cfg: { type: 'Pretrained', checkpoint: tinyPth } } }, { file: 'seg.yaml', path: 'model' }))
      .toThrow(/seg\.yaml: model\.pretrained: give either model\.pretrained or backbone\.init_cfg/);
  });

  test('a missing pretrained file names model.pretrained=null, the key that trains from scratch', async () => {
    const m = segmentorFromConfig({ ...tinyConfig(), pretrained: 'checkpoints/nowhere.pth' }, { file: 'seg.yaml', path: 'model' }) as EncoderDecoder;
    const err = await m.loadInitCheckpoints(() => {}).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^seg\.yaml: model\.pretrained: pretrained checkpoint 'checkpoints\/nowhere\.pth' not found.*--cfg-options model\.pretrained=null$/);
    m.dispose();
  });
});
