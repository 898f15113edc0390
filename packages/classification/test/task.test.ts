/**
 * Classification task: every registered classification network builds and runs (timm test_models pattern),
 * the recipe's random transforms are deterministic per seed, ImageFolder errors, and a short
 * train + test on the synthetic set through the shared engine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CLASSIFIERS, CLS_BACKBONES, Rng, taskEntry, type ConfigNode, type Sample } from '@litv2/core';
import { initBackend, fileCliDeps, trainCli, evalCli } from '@litv2/core/node';
import {
  ImageClassifier,
  classificationTask,
  buildClsDatasetFromConfig,
  evaluateClassification,
  mixBatch,
  randomErase,
  randomResizedCropBox,
  scanImageFolder,
  smoothOneHot,
  collateClassification,
  makeSyntheticClassification,
  NO_BATCH_AUGMENT,
} from '@litv2/classification';

const repoRoot = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-cls-task-'));

beforeAll(async () => {
  await initBackend({ quiet: true });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Small versions of each registered network (the presets at 64x64, 3 classes). */
function smallConfig(type: string): ConfigNode {
  if (type === 'LITv2') return { type, img_size: 64, num_classes: 3, embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8] };
  return { type, img_size: 64, num_classes: 3 };
}

test('every registered classification network builds, runs forward in train and eval mode, and rejects an unknown key', () => {
  const types = CLS_BACKBONES.types();
  for (const t of ['LITv2', 'LeViT', 'LeViT_128S', 'LeViT_384', 'EfficientViT', 'EfficientViT_M0', 'EfficientViT_M5']) expect(types).toContain(t);
  for (const type of types) {
    const m = CLASSIFIERS.build({ type: 'ImageClassifier', backbone: smallConfig(type) }, undefined, { file: 'c.yaml', path: 'model' }) as ImageClassifier;
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const targets = tf.tensor2d(smoothOneHot(Int32Array.from([0, 2]), 3, 0.1), [2, 3]);
    const losses = m.forwardTrain({ imgs: x, metas: [], samples: [], labels: Int32Array.from([0, 2]), targets });
    expect([type, Number.isFinite(losses.loss_cls.dataSync()[0])]).toEqual([type, true]);
    const y = m.eval().forward(x);
    expect([type, y.shape]).toEqual([type, [2, 3]]);
    expect(m.backbone.flops()).toBeGreaterThan(0);
    tf.dispose([x, targets, y, ...Object.values(losses)]);
    m.dispose();
    expect(() => CLASSIFIERS.build({ type: 'ImageClassifier', backbone: { ...smallConfig(type), num_clases: 3 } }, undefined, { file: 'c.yaml', path: 'model' })).toThrow(
      /c\.yaml: model\.backbone\.num_clases: unknown key .*did you mean 'num_classes'/,
    );
  }
}, 120_000);

test('RandomResizedCrop boxes: deterministic per seed, inside the image, area and ratio in range', () => {
  const boxes = (seed: number) => Array.from({ length: 50 }, (_, i) => randomResizedCropBox(300, 400, [0.08, 1], [3 / 4, 4 / 3], new Rng(seed * 1000 + i)));
  expect(boxes(1)).toEqual(boxes(1));
  expect(boxes(1)).not.toEqual(boxes(2));
  for (const [top, left, h, w] of boxes(3)) {
    expect(top >= 0 && left >= 0 && top + h <= 300 && left + w <= 400).toBe(true);
    expect((h * w) / (300 * 400)).toBeLessThanOrEqual(1.0001);
  }
});

test('label smoothing, Mixup and CutMix: seeded, targets are distributions weighted by the mixed area', () => {
  expect(Array.from(smoothOneHot(Int32Array.from([1]), 4, 0.1)).map((v) => +v.toFixed(6))).toEqual([0.025, 0.925, 0.025, 0.025]);
  const n = 4, h = 8, w = 8, c = 3;
  const imgs = () => Float32Array.from({ length: n * h * w * c }, (_, i) => Math.floor(i / (h * w * c))); // image k is constant k
  const labels = Int32Array.from([0, 1, 2, 3]);
  const opts = { ...NO_BATCH_AUGMENT, mixupAlpha: 0.8, cutmixAlpha: 1.0, switchProb: 0.5, labelSmoothing: 0.1 };
  const kinds = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const a = imgs();
    const b = imgs();
    const ra = mixBatch(a, labels, [n, h, w, c], 4, opts, new Rng(seed));
    const rb = mixBatch(b, labels, [n, h, w, c], 4, opts, new Rng(seed));
    expect(a).toEqual(b);
    expect(ra).toEqual(rb);
    kinds.add(ra.mix.kind);
    for (let i = 0; i < n; i++) expect(ra.targets.slice(i * 4, i * 4 + 4).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    // Image 0 is mixed with image 3: its mean pixel is lam * 0 + (1 - lam) * 3, and its target weight on class 0 follows lam.
    const mean0 = a.slice(0, h * w * c).reduce((s, v) => s + v, 0) / (h * w * c);
    expect(mean0).toBeCloseTo(3 * (1 - ra.mix.lam), 5);
    expect(ra.targets[0]).toBeCloseTo(ra.mix.lam * 0.925 + (1 - ra.mix.lam) * 0.025, 5);
  }
  expect(kinds).toEqual(new Set(['mixup', 'cutmix']));
});

test('RandomErasing: seeded, fills one box with noise or leaves the image', () => {
  const make = () => ({ data: new Float32Array(32 * 32 * 3), height: 32, width: 32, channels: 3 });
  const o = { prob: 1, minArea: 0.02, maxArea: 1 / 3, minAspect: 0.3 };
  const a = make();
  const b = make();
  expect(randomErase(a, new Rng(5), o)).toBe(true);
  randomErase(b, new Rng(5), o);
  expect(a.data).toEqual(b.data);
  const changed = a.data.filter((v) => v !== 0).length / 3;
  expect(changed).toBeGreaterThanOrEqual(0.02 * 32 * 32 * 0.5);
  expect(changed).toBeLessThanOrEqual(32 * 32 / 3 + 64);
  const c = make();
  expect(randomErase(c, new Rng(5), { ...o, prob: 0 })).toBe(false);
  expect(c.data.every((v) => v === 0)).toBe(true);
});

test('ImageFolder: a missing or empty layout names the expected layout; an unreadable image is reported by path', async () => {
  expect(() => scanImageFolder(path.join(tmp, 'nope'))).toThrow(/ImageFolder: .*nope does not exist: expected .*<class>.*<image>/);
  fs.mkdirSync(path.join(tmp, 'flat'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'flat', 'a.png'), 'x');
  expect(() => scanImageFolder(path.join(tmp, 'flat'))).toThrow(/has no class folders/);
  fs.mkdirSync(path.join(tmp, 'emptycls', 'cat'), { recursive: true });
  expect(() => scanImageFolder(path.join(tmp, 'emptycls'))).toThrow(/no image .* in class folder\(s\) .*cat/);

  const root = path.join(tmp, 'syn');
  await makeSyntheticClassification({ out: root, seed: 1, numTrain: 12, numVal: 12, size: 40, numClasses: 3 });
  const scan = scanImageFolder(path.join(root, 'val'));
  expect(scan.classes).toEqual(['ellipse', 'rectangle', 'triangle']);
  const bad = path.join(root, 'val', 'ellipse', 'zzz_broken.png');
  fs.writeFileSync(bad, 'not a png');
  const cfg = { data: { samples_per_gpu: 4, test: { type: 'ImageFolder', data_prefix: path.join(root, 'val'), pipeline: [{ type: 'LoadImageFromFile' }, { type: 'ResizeCenterCrop', resize: 40, crop: 32 }, { type: 'Normalize', mean: [0, 0, 0], std: [1, 1, 1] }] } } };
  const ds = await buildClsDatasetFromConfig(cfg, 'test', { repoRoot, log: () => undefined, configFile: 'c.yaml' });
  const model = CLASSIFIERS.build({ type: 'ImageClassifier', backbone: { type: 'LITv2', img_size: 32, num_classes: 3, embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8] } }, undefined, { path: 'model' }) as ImageClassifier;
  await expect(evaluateClassification(model.eval(), ds, cfg, { workDir: tmp, log: () => undefined })).rejects.toThrow(/zzz_broken\.png/);
  fs.rmSync(bad);
  // The collate stacks one crop size and keeps the labels in dataset order.
  const samples = (await Promise.all([0, 1, 2].map((i) => ds.get(i, new Rng(i))))) as Sample[];
  const batch = collateClassification(samples, false);
  expect(batch.imgs.shape).toEqual([3, 32, 32, 3]);
  expect(Array.from(batch.labels)).toEqual([0, 1, 2].map((i) => ds.label(i)));
  batch.imgs.dispose();
  model.dispose();
});

test('classification:train then classification:test on a small synthetic set (shared engine, checkpoints, eval each epoch)', async () => {
  const data = path.join(tmp, 'e2e');
  const workDir = path.join(tmp, 'work');
  const synth = '{num_train: 96, num_val: 48, size: 72, num_classes: 6}';
  const opts = [
    `data.train.data_prefix=${data}/train`, `data.val.data_prefix=${data}/val`, `data.test.data_prefix=${data}/val`,
    `data.train.synthetic=${synth}`, `data.val.synthetic=${synth}`, `data.test.synthetic=${synth}`,
    'runner.max_epochs=2', 'data.samples_per_gpu=16', 'lr_config.warmup_iters=2', 'log_config.interval=3',
  ];
  const lines: string[] = [];
  const deps = { ...fileCliDeps({ repoRoot, tasks: { classification: taskEntry(classificationTask) }, progressBar: false }), log: (l: string) => lines.push(l) };
  const out = await trainCli(['--task', 'classification', '--config', 'litv2_tiny_synthetic', '--work-dir', workDir, '--cfg-options', ...opts], deps);
  expect(out.runner.epoch).toBe(2);
  expect(lines.filter((l) => l.startsWith('Eval at epoch')).length).toBe(2);
  const top1 = out.eval!.metrics['accuracy_top-1'];
  expect(top1).toBeGreaterThanOrEqual(0);
  expect(fs.existsSync(path.join(workDir, 'epoch_2.ckpt'))).toBe(true);
  const res = await evalCli(['--task', 'classification', '--config', 'litv2_tiny_synthetic', '--checkpoint', path.join(workDir, 'epoch_2.ckpt'), '--work-dir', workDir, '--cfg-options', ...opts], deps);
  // The test split is the val set: evaluating the checkpoint reproduces the last in-training evaluation.
  expect(res.metrics['accuracy_top-1']).toBeCloseTo(top1, 6);
  expect(res.metrics['accuracy_top-5']).toBe(out.eval!.metrics['accuracy_top-5']);
  // Resumed from the first epoch's checkpoint (optimizer, schedule position, data order and RNG state): the
  // second epoch reproduces the uninterrupted run.
  const workDir2 = path.join(tmp, 'work2');
  const resumed = await trainCli(['--task', 'classification', '--config', 'litv2_tiny_synthetic', '--work-dir', workDir2, '--cfg-options', ...opts, `resume_from=${path.join(workDir, 'epoch_1.ckpt')}`], deps);
  expect(resumed.runner.epoch).toBe(2);
  expect(resumed.eval!.metrics).toEqual(out.eval!.metrics);
}, 180_000);

test('RandAugment rand-m9-mstd0.5-inc1: seeded, PIL op definitions, config string parsed', async () => {
  const { randAugment, parseRandAugment, RAND_INCREASING_OPS } = await import('@litv2/classification');
  expect(parseRandAugment('rand-m9-mstd0.5-inc1')).toEqual({ numLayers: 2, magnitude: 9, magnitudeStd: 0.5 });
  expect(() => parseRandAugment('rand-m9-mstd0.5')).toThrow(/increasing op set/);
  expect(Object.keys(RAND_INCREASING_OPS).length).toBe(15);
  const w = 24, h = 16;
  const img = () => ({ data: Uint8Array.from({ length: w * h * 3 }, (_, i) => 50 + ((i * 7) % 51)), width: w, height: h, channels: 3 });
  const o = { numLayers: 2, magnitude: 9, magnitudeStd: 0.5, prob: 0.5, fill: [124, 116, 104] as [number, number, number], translatePct: 0.45 };
  const seen = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const a = randAugment(img(), new Rng(seed), o);
    const b = randAugment(img(), new Rng(seed), o);
    expect(a.image.data).toEqual(b.image.data);
    expect(a.applied).toEqual(b.applied);
    a.applied.forEach((n) => seen.add(n));
  }
  expect(seen.size).toBeGreaterThan(10);
  const r = new Rng(0);
  const base = img();
  // Invert is an involution; AutoContrast stretches [50, 100] to [0, 255]; Solarize at level 10 inverts all.
  expect(RAND_INCREASING_OPS.Invert(RAND_INCREASING_OPS.Invert(base, 5, r, o), 5, r, o).data).toEqual(base.data);
  const ac = RAND_INCREASING_OPS.AutoContrast(base, 5, r, o).data;
  expect([Math.min(...Array.from(ac)), Math.max(...Array.from(ac))]).toEqual([0, 255]);
  expect(RAND_INCREASING_OPS.SolarizeIncreasing(base, 10, r, o).data).toEqual(base.data.map((v) => 255 - v));
  // Posterize at level 10: timm keeps 4 - int(10 / 10 * 4) = 0 bits, so every value becomes 0.
  expect(RAND_INCREASING_OPS.PosterizeIncreasing(base, 10, r, o).data.every((v) => v === 0)).toBe(true);
  // Level 0 geometric ops are the identity; a full-width translation leaves only the fill colour.
  expect(RAND_INCREASING_OPS.ShearX(base, 0, r, o).data).toEqual(base.data);
  const moved = RAND_INCREASING_OPS.TranslateXRel(base, 10, new Rng(1), { ...o, translatePct: 1 }).data;
  expect(Array.from(moved.slice(0, 3))).toEqual([124, 116, 104]);
});
