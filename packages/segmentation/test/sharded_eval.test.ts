import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodeLabelPng, encodeRgbPng, initBackend } from '@litv2/core/node';
import { DATASETS } from '@litv2/core';
import type { SegDataset } from '../src/data';
import { evaluateSegmentation, type EncoderDecoder } from '../src';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('sharded mIoU (2 ranks, per-class areas summed on rank 0) equals single-process mIoU exactly', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seg-shard-'));
  const imgDir = path.join(root, 'data/ade/ADEChallengeData2016/images/validation');
  const annDir = path.join(root, 'data/ade/ADEChallengeData2016/annotations/validation');
  fs.mkdirSync(imgDir, { recursive: true });
  fs.mkdirSync(annDir, { recursive: true });
  for (const [k, name] of ['a', 'b', 'c'].entries()) {
    const data = Uint8Array.from({ length: 5 * 6 * 3 }, (_, i) => (i * (k + 3) + 17 * k) % 251);
    fs.writeFileSync(path.join(imgDir, `ADE_${name}.jpg`), await encodeRgbPng({ data, height: 5, width: 6, channels: 3 }));
    fs.writeFileSync(path.join(annDir, `ADE_${name}.png`), encodeLabelPng({ data: Uint8Array.from({ length: 30 }, (_, i) => (i + k) % 5), height: 5, width: 6 }));
  }
  const ds = DATASETS.build(
    { type: 'ADE20KDataset', data_root: 'data/ade/ADEChallengeData2016', img_dir: 'images/validation', ann_dir: 'annotations/validation', pipeline: [{ type: 'LoadImageFromFile' }] },
    { repoRoot: root, train: false },
  ) as SegDataset;
  // A stand-in segmentor whose label map depends on the image's pixels (so each image differs).
  const model = {
    numClasses: 4,
    simpleTest: (img: tf.Tensor4D) => tf.tidy(() => img.slice([0, 0, 0, 0], [1, -1, -1, 1]).reshape(img.shape.slice(1, 3)).toInt().mod(4)),
  } as unknown as EncoderDecoder;
  const opts = { workDir: root, log: () => {} };
  const single = await evaluateSegmentation(model, ds, opts);
  expect(single.metrics.mIoU).toBeGreaterThan(0);
  let fromRank1: unknown;
  const r1 = await evaluateSegmentation(model, ds, { ...opts, shard: { rank: 1, worldSize: 2, gather: <T>(v: T): T[] => ((fromRank1 = JSON.parse(JSON.stringify(v))), [v, v]) } });
  expect(r1.metrics).toEqual({});
  const r0 = await evaluateSegmentation(model, ds, { ...opts, shard: { rank: 0, worldSize: 2, gather: <T>(v: T): T[] => [JSON.parse(JSON.stringify(v)) as T, fromRank1 as T] } });
  expect(r0.metrics).toEqual(single.metrics);
  expect(r0.table).toEqual(single.table);
});
