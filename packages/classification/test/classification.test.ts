import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initBackend, Fixture } from '@litv2/core/node';
import { CLASSIFIERS } from '@litv2/core';
import { ImageClassifier, loadEvalImage, loadTensorFile, predictClassification, readNpy, IMAGENET_EVAL } from '@litv2/classification';

const repoRoot = path.resolve(__dirname, '../../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-cls-'));

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('ImageClassifier is registered and keeps the official key names', async () => {
  const m = CLASSIFIERS.build({ type: 'ImageClassifier', backbone: { type: 'LITv2', embed_dim: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], num_classes: 5, img_size: 32 } }, undefined, { path: 'model' }) as ImageClassifier;
  expect(m).toBeInstanceOf(ImageClassifier);
  const keys = Object.keys(m.stateDictSpec());
  expect(keys[0]).toBe('patch_embed.proj.weight');
  expect(keys.slice(-4)).toEqual(['norm.weight', 'norm.bias', 'head.weight', 'head.bias']);
  const { logits, topk } = await m.eval().predict(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, 3);
  expect(logits.length).toBe(2);
  expect(topk[0].map((t) => t.index)).toEqual([...logits[0].keys()].sort((a, b) => logits[0][b] - logits[0][a]).slice(0, 3));
  m.dispose();
  expect(() => CLASSIFIERS.build({ type: 'ImageClassifier', backbone: { type: 'LITv2', depth: [1] } }, undefined, { file: 'c.yaml', path: 'model' })).toThrow(/c\.yaml: model\.backbone\.depth: unknown key/);
  expect(() => CLASSIFIERS.build({ type: 'ImageClassifier', backbone: { type: 'LITv2', embed_dim: 'x' } }, undefined, { file: 'c.yaml', path: 'model' })).toThrow(/model\.backbone\.embed_dim: expected a number/);
});

test('eval transform: a 224x224 image is used as is; others are resized (shorter side 256) and centre-cropped', async () => {
  const px = new Uint8Array(224 * 224 * 3).map((_, i) => (i * 7) % 251);
  const f224 = path.join(tmp, 'a.png');
  await sharp(Buffer.from(px), { raw: { width: 224, height: 224, channels: 3 } }).png().toFile(f224);
  const x = await loadEvalImage(f224);
  const expected = Float32Array.from(px, (v, i) => (v - IMAGENET_EVAL.mean[i % 3]) / IMAGENET_EVAL.std[i % 3]);
  expect(x.shape).toEqual([1, 224, 224, 3]);
  expect(tf.max(tf.abs(x.sub(tf.tensor4d(expected, [1, 224, 224, 3])))).dataSync()[0]).toBeLessThan(1e-5);
  // A 400x300 image: left half red, right half blue. After resize to 341x256 and a centre crop the
  // boundary stays in the middle, and a constant region keeps its exact normalised value.
  const w = 400, h = 300;
  const img = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let c = 0; c < w; c++) img.set(c < w / 2 ? [200, 10, 10] : [10, 10, 200], (y * w + c) * 3);
  const f2 = path.join(tmp, 'b.png');
  await sharp(Buffer.from(img), { raw: { width: w, height: h, channels: 3 } }).png().toFile(f2);
  const y2 = await loadEvalImage(f2);
  expect(y2.shape).toEqual([1, 224, 224, 3]);
  const v = y2.arraySync()[0];
  expect(v[100][10][0]).toBeCloseTo((200 - 123.675) / 58.395, 4);
  expect(v[100][213][2]).toBeCloseTo((200 - 103.53) / 57.375, 4);
  tf.dispose([x, y2]);
});

test('.npy and raw tensor inputs (NCHW -> NHWC) with clear shape errors', () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4, 5), }";
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = header + ' '.repeat(pad) + '\n';
  const buf = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from(new Uint16Array([h.length]).buffer), Buffer.from(h, 'latin1'), Buffer.from(data.buffer)]);
  const npy = path.join(tmp, 'x.npy');
  fs.writeFileSync(npy, buf);
  expect(readNpy(npy).shape).toEqual([2, 3, 4, 5]);
  const t = loadTensorFile(npy);
  expect(t.shape).toEqual([2, 4, 5, 3]);
  expect(t.arraySync()[1][2][3][1]).toBe(1 * 60 + 1 * 20 + 2 * 5 + 3);
  const raw = path.join(tmp, 'x.bin');
  fs.writeFileSync(raw, Buffer.from(data.buffer));
  expect(loadTensorFile(raw, [2, 3, 4, 5]).shape).toEqual([2, 4, 5, 3]);
  expect(() => loadTensorFile(raw, [2, 3, 4, 4])).toThrow(/480 bytes, but shape \[2,3,4,4\] needs 384/);
  expect(() => loadTensorFile(raw)).toThrow(/need --shape/);
});

test('litv2_tiny.pth through the classification predict path reproduces the fixture logits', async () => {
  const fx = Fixture.load(path.join(fixturesDir, 'litv2_tiny.json'));
  const input = path.join(tmp, 'tiny_input.bin');
  fs.writeFileSync(input, Buffer.from(fx.array('input').buffer));
  const r = await predictClassification({
    config: 'litv2_s',
    cfgOptions: ['model.backbone.embed_dim=48', 'model.backbone.depths=[1,1,2,1]'],
    checkpoint: path.join(fixturesDir, 'litv2_tiny.pth'),
    tensor: input,
    shape: [2, 3, 224, 224],
    topk: 5,
  });
  expect(r.loadReport!.missingKeys).toEqual([]);
  expect(r.loadReport!.unexpectedKeys).toEqual([]);
  const ref = fx.array('logits');
  let maxAbs = 0;
  r.logits.flat().forEach((v, i) => (maxAbs = Math.max(maxAbs, Math.abs(v - ref[i]))));
  expect(maxAbs).toBeLessThan(1e-4);
  expect(r.topk[0][0].index).toBe([...ref.slice(0, 1000).keys()].reduce((a, b) => (ref[b] > ref[a] ? b : a), 0));
});
