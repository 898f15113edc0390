import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/node';
import { DataLoader, BadSampleError } from '../src/data/dataloader';
import { PipelineDataset, buildPipeline } from '../src/data/pipeline';
import '../src/data/transforms';
import { collate } from '../src/data/collate';
import { encodeRgbPng, readImage } from '../src/data/image';
import { makeSynthetic, renderScene, resolveSyntheticOptions } from '../src/data/synthetic';
import { ToyDataset } from './helpers/toy';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-data-'));

async function collectFlips(loader: DataLoader, epoch: number): Promise<string[]> {
  const out: string[] = [];
  for await (const b of loader.batches(epoch)) {
    out.push(b.samples.map((s) => `${s.info.index}${s.meta.flip ? 'f' : ''}`).join(','));
    b.imgs.dispose();
  }
  return out;
}

test('data order and random transforms depend only on (seed, epoch), not on prefetch depth', async () => {
  const a = new DataLoader(new ToyDataset(11), { batchSize: 3, shuffle: true, seed: 7, prefetch: 0 });
  const b = new DataLoader(new ToyDataset(11, 8, 2), { batchSize: 3, shuffle: true, seed: 7, prefetch: 3 });
  const e0 = await collectFlips(a, 0);
  expect(await collectFlips(b, 0)).toEqual(e0);
  expect(e0).toHaveLength(4); // 11 / 3 -> 4 batches (last one short)
  expect(e0.join(',').split(',').map((x) => parseInt(x)).sort((x, y) => x - y)).toEqual([...Array(11).keys()]);
  expect(await collectFlips(a, 1)).not.toEqual(e0); // a new permutation each epoch
  const c = new DataLoader(new ToyDataset(11), { batchSize: 3, shuffle: true, seed: 8 });
  expect(await collectFlips(c, 0)).not.toEqual(e0);
  const d = new DataLoader(new ToyDataset(11), { batchSize: 3, dropLast: true });
  expect(d.length).toBe(3);
  expect((await collectFlips(d, 0)).map((s) => s.replace(/f/g, ''))).toEqual(['0,1,2', '3,4,5', '6,7,8']);
});

test('prefetch loads the next batches while the current one is consumed, bounded by the queue size', async () => {
  const ds = new ToyDataset(12);
  const loader = new DataLoader(ds, { batchSize: 2, prefetch: 2 });
  const it = loader.batches(0);
  const first = await it.next();
  await new Promise((r) => setTimeout(r, 20));
  // batch 0 handed out; batches 1 and 2 requested ahead, not more
  expect(ds.calls.length).toBe(6);
  (first.value as { imgs: tf.Tensor }).imgs.dispose();
  await it.return(undefined);
});

test('collate pads to the largest image; tensors created only on hand-out', () => {
  const mk = (h: number, w: number, v: number) => ({
    info: { index: 0, filename: 'a' },
    meta: {} as never,
    extra: {},
    rng: undefined as never,
    img: { data: new Float32Array(h * w * 3).fill(v), height: h, width: w, channels: 3 },
    gt_semantic_seg: { data: new Uint8Array(h * w).fill(v), height: h, width: w },
  });
  const n0 = tf.memory().numTensors;
  const b = collate([mk(2, 3, 1), mk(4, 2, 2)]);
  expect(b.imgs.shape).toEqual([2, 4, 3, 3]);
  expect(tf.memory().numTensors).toBe(n0 + 2);
  const d = b.imgs.arraySync();
  expect(d[0][3][2]).toEqual([0, 0, 0]);
  expect(d[0][1][2]).toEqual([1, 1, 1]);
  expect(d[1][3][1]).toEqual([2, 2, 2]);
  expect(b.gt_semantic_seg!.arraySync()[0][3][0]).toBe(255);
  b.imgs.dispose();
  b.gt_semantic_seg!.dispose();
});

describe('bad samples', () => {
  const dir = tmp();
  let ds: PipelineDataset;
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'good.png'), await encodeRgbPng({ data: new Uint8Array(4 * 4 * 3).fill(100), height: 4, width: 4, channels: 3 }));
    fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
    const pipe = buildPipeline([{ type: 'LoadImageFromFile' }], { path: 'pipeline' });
    ds = new PipelineDataset(
      ['good.png', 'missing.png', 'broken.png', 'good.png'].map((f, i) => ({ index: i, filename: f, imgPrefix: dir })),
      pipe,
      ['x'],
    );
  });

  test('a missing or unreadable image stops with an error naming the file', async () => {
    const loader = new DataLoader(ds, { batchSize: 2 });
    const err = await (async () => {
      try {
        for await (const b of loader.batches(0)) b.imgs.dispose();
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BadSampleError);
    expect(err!.message).toMatch(/bad sample 1 \(missing\.png\): cannot read image '.*missing\.png': file not found/);
    const single = new DataLoader(ds, { batchSize: 1 });
    await expect(single.loadSample(2, 0)).rejects.toThrow(/broken\.png.*cannot decode image/);
  });

  test('skipBadSamples logs and skips them', async () => {
    const lines: string[] = [];
    const loader = new DataLoader(ds, { batchSize: 2, skipBadSamples: true, log: (l) => lines.push(l) });
    const sizes: number[] = [];
    for await (const b of loader.batches(0)) {
      sizes.push(b.imgs.shape[0]);
      b.imgs.dispose();
    }
    expect(sizes).toEqual([1, 1]);
    expect(loader.skipped).toBe(2);
    expect(lines.join('\n')).toMatch(/skipping bad sample 1 \(missing\.png\)/);
    expect(lines.join('\n')).toMatch(/skipping bad sample 2 \(broken\.png\)/);
  });
});

test('synthetic generator: same bytes for the same seed, different for another seed, stamp skips', async () => {
  const opts = { numTrain: 3, numVal: 2, size: 48, numClasses: 4 };
  const a = tmp();
  const b = tmp();
  const c = tmp();
  expect(await makeSynthetic({ out: a, ...opts })).toBe(true);
  expect(await makeSynthetic({ out: b, ...opts })).toBe(true);
  expect(await makeSynthetic({ out: c, ...opts, seed: 1 })).toBe(true);
  const files = (d: string): string[] => fs.readdirSync(d, { recursive: true, withFileTypes: false }).map(String).filter((f) => fs.statSync(path.join(d, f)).isFile()).sort();
  expect(files(a)).toEqual(files(b));
  expect(files(a)).toEqual(
    expect.arrayContaining(['annotations/instances_train.json', 'annotations/instances_val.json', 'images/train/000000.png', 'seg/images/training/000002.png', 'seg/annotations/validation/000001.png']),
  );
  for (const f of files(a)) expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f)))).toBe(true);
  expect(fs.readFileSync(path.join(c, 'images/train/000000.png')).equals(fs.readFileSync(path.join(a, 'images/train/000000.png')))).toBe(false);
  expect(await makeSynthetic({ out: a, ...opts })).toBe(false);
  // annotations agree with the rendered label map and the image decodes
  const coco = JSON.parse(fs.readFileSync(path.join(a, 'annotations/instances_train.json'), 'utf8'));
  expect(coco.categories.map((x: { name: string }) => x.name)).toEqual(['rectangle', 'ellipse', 'triangle', 'cross']);
  const scene = renderScene(resolveSyntheticOptions({ out: a, ...opts }), 'train', 0);
  const anns = coco.annotations.filter((x: { image_id: number }) => x.image_id === 1);
  expect(anns).toHaveLength(scene.objects.length);
  for (const an of anns) {
    expect(an.iscrowd).toBe(0);
    expect(an.bbox[2]).toBeGreaterThan(0);
    expect(an.area).toBeGreaterThan(0);
    expect(an.area).toBeLessThanOrEqual(an.bbox[2] * an.bbox[3] + 1);
    expect(an.segmentation[0].length).toBeGreaterThanOrEqual(6);
  }
  const img = await readImage(path.join(a, 'images/train/000000.png'));
  expect(Array.from(img.data)).toEqual(Array.from(scene.rgb));
});
