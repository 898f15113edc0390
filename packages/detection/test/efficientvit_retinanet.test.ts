/**
 * Detection reuses any registered backbone: RetinaNet with core's dense EfficientViT-M4
 * (configs/detection/retinanet_efficientvit_m4_synthetic.yaml) builds from its config and takes a training
 * step on a batch of the synthetic detection set's pipeline output.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { taskEntry, DataLoader, type Batch } from '@litv2/core';
import { initBackend, loadConfig, ensureSyntheticData } from '@litv2/core/node';
import { detectionTask } from '@litv2/detection';

const repoRoot = path.resolve(__dirname, '../../..');

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('retinanet_efficientvit_m4_synthetic: builds with the EfficientViT backbone and trains one step', async () => {
  const { cfg, file } = loadConfig('retinanet_efficientvit_m4_synthetic', { configsDir: path.join(repoRoot, 'configs') });
  const task = taskEntry(detectionTask);
  const ctx = { configFile: file, repoRoot, skipBadSamples: false, log: () => undefined };
  const model = await task.buildModel(cfg, ctx);
  const keys = model.namedEntries().map(([k]) => k);
  expect(keys).toContain('backbone.blocks3.5.mixer.m.attn.attention_biases');
  expect(keys).toContain('backbone.blocks2.1.se.fc1.weight');
  await ensureSyntheticData(cfg, repoRoot, () => undefined);
  const ds = await task.buildDataset(cfg, 'train', ctx);
  const loader = new DataLoader<Batch>(ds, { batchSize: 2, shuffle: false, seed: 0, collate: task.collate!.bind(task) });
  const it = loader.batches(0);
  const batch = (await it.next()).value as Batch;
  expect(batch.imgs.shape).toEqual([2, 448, 448, 3]);
  model.train();
  const losses = model.forwardTrain(batch);
  expect(Object.keys(losses).sort()).toEqual(expect.arrayContaining(['loss_bbox', 'loss_cls']));
  for (const v of Object.values(losses)) expect(Number.isFinite(v.dataSync()[0])).toBe(true);
  tf.dispose(Object.values(losses));
  batch.imgs.dispose();
  await it.return(undefined);
  model.dispose();
}, 120_000);
