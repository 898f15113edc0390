/** A tiny trainable model and in-memory dataset for engine tests (no files, milliseconds per step). */
import * as tf from '@tensorflow/tfjs';
import { Module, Conv2d, Linear, LayerNorm, nextSeed } from '../../src/nn';
import type { Batch, Dataset, Sample, SampleInfo } from '../../src/data/types';
import type { TrainableModel } from '../../src/engine/types';
import { applyPipeline, initialSample, TRANSFORMS } from '../../src/data/pipeline';
import '../../src/data/transforms';
import type { Rng } from '../../src/data/rng';
import type { CheckpointData, CheckpointIO } from '../../src/engine/runner';

/** conv -> global mean -> norm -> linear; regression onto a per-sample target, with a dropout-like random mask. */
export class ToyModel extends Module implements TrainableModel {
  readonly conv: Conv2d;
  readonly norm: LayerNorm;
  readonly head: Linear;
  /** When set, forwardTrain returns this value for `loss_bad` (NaN guard tests). */
  poison?: number;
  constructor() {
    super();
    this.conv = this.addModule('conv', new Conv2d(3, 4, 3, { padding: 1 }));
    this.norm = this.addModule('norm', new LayerNorm(4));
    this.head = this.addModule('head', new Linear(4, 2));
  }
  forwardTrain(batch: Batch): Record<string, tf.Scalar> {
    const feat = this.conv.forward(batch.imgs).relu().mean([1, 2]);
    // Random mask from the global seeded stream: resume must restore it to reproduce the run.
    const mask = tf.randomUniform(feat.shape, 0, 1, 'float32', nextSeed()).greater(0.2).cast('float32');
    const pred = this.head.forward(this.norm.forward(feat.mul(mask).div(0.8))) as tf.Tensor2D;
    const target = tf.tensor2d(batch.samples.flatMap((s) => [s.info.index % 3, (s.meta.flip ? 1 : -1) * 0.5]), [batch.samples.length, 2]);
    const out: Record<string, tf.Scalar> = {
      loss_mse: pred.sub(target).square().mean() as tf.Scalar,
      loss_l1: pred.sub(target).abs().mean().mul(0.1) as tf.Scalar,
      acc: tf.scalar(0.5),
    };
    if (this.poison !== undefined) out.loss_bad = tf.scalar(this.poison);
    return out;
  }
}

/** In-memory dataset of 8x8 images with a RandomFlip pipeline; records the order of `get` calls. */
export class ToyDataset implements Dataset {
  readonly classes = ['a', 'b', 'c'];
  readonly calls: number[] = [];
  readonly pipeline = [TRANSFORMS.build({ type: 'RandomFlip', flip_ratio: 0.5 }, undefined)];
  constructor(readonly length: number, readonly size = 8, readonly delayMs = 0) {}
  info(i: number): SampleInfo {
    return { index: i, filename: `toy_${i}.png`, height: this.size, width: this.size };
  }
  async get(i: number, rng: Rng): Promise<Sample | null> {
    this.calls.push(i);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const s = initialSample(this.info(i), rng);
    const n = this.size * this.size * 3;
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) data[k] = Math.sin(i * 7.1 + k * 0.37);
    s.img = { data, height: this.size, width: this.size, channels: 3 };
    return applyPipeline(this.pipeline, s);
  }
}

/** Checkpoint store in memory (clones tensors), for runner tests independent of the file format. */
export class MemoryCheckpointIO implements CheckpointIO {
  readonly files = new Map<string, CheckpointData>();
  save(file: string, d: CheckpointData): void {
    const clone = (sd: Record<string, tf.Tensor>) => Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.clone()]));
    this.files.set(file, {
      model: clone(d.model),
      optimizer: d.optimizer && { ...d.optimizer, slots: Object.fromEntries(Object.entries(d.optimizer.slots).map(([k, v]) => [k, clone(v)])) },
      meta: JSON.parse(JSON.stringify(d.meta)),
    });
    require('node:fs').writeFileSync(file, 'memory checkpoint');
  }
  load(file: string): CheckpointData {
    const d = this.files.get(file);
    if (!d) throw new Error(`no checkpoint ${file}`);
    const clone = (sd: Record<string, tf.Tensor>) => Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.clone()]));
    return { model: clone(d.model), optimizer: d.optimizer && { ...d.optimizer, slots: Object.fromEntries(Object.entries(d.optimizer.slots).map(([k, v]) => [k, clone(v)])) }, meta: d.meta };
  }
}
