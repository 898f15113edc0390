import * as tf from '@tensorflow/tfjs';
import { AdamW, LITv2, litv2Preset, nextSeed, resolveParamGroups, seedEverything } from '@litv2/core';
import { round, timeIt, type Timing } from './timing';

export interface ModelBenchOptions {
  size?: 's' | 'm' | 'b';
  evalBatches?: number[];
  trainBatch?: number | null;
  runs?: number;
  log: (s: string) => void;
}

export type BenchRecord = Record<string, number | string | null>;

/** Softmax cross-entropy on random labels (the classification training loss). */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

/** Forward + cross-entropy + backward + AdamW update (DropPath active), timed over `runs` steps. */
async function timeTrainStep(model: LITv2, tb: number, runs: number, rec: BenchRecord, key: string): Promise<Timing> {
  model.train();
  const named = model.namedParameters();
  const opt = new AdamW(resolveParamGroups(named, {}), { lr: 1e-4, weight_decay: 0.05 });
  const x = tf.randomNormal([tb, 224, 224, 3], 0, 1, 'float32', nextSeed()) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: tb }, (_, i) => (i * 37) % 1000), 'int32');
  const vars = named.map(([, v]) => v);
  try {
    // Reads back asynchronously: GPU backends (webgpu) have no synchronous read.
    const step = async () => {
      const value = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), labels), vars);
        const byName: Record<string, tf.Tensor> = {};
        named.forEach(([n, v]) => (byName[n] = grads[v.name]));
        opt.step(byName);
        return value;
      });
      await value.data();
      value.dispose();
    };
    await timeIt(step, 0, 1);
    const before = tf.memory().numTensors;
    const t = await timeIt(step, runs, 0);
    rec[`${key}.train_tensor_leak`] = tf.memory().numTensors - before;
    return t;
  } finally {
    opt.dispose();
    x.dispose();
    labels.dispose();
  }
}

/**
 * LITv2 classification model at 224: eval img/s (no tape) for each batch, and a training step (forward +
 * backward + AdamW update, DropPath active) at `trainBatch`. Keys: `litv2_s.eval_bs8_img_s` etc.
 */
export async function benchmarkLITv2(opts: ModelBenchOptions): Promise<BenchRecord> {
  const size = opts.size ?? 's';
  const key = `litv2_${size}`;
  const runs = opts.runs ?? 5;
  seedEverything(0);
  const model = new LITv2({ ...litv2Preset(size) });
  const rec: BenchRecord = {};
  const note = (k: string, t: Timing, batch: number) => {
    rec[`${key}.${k}_img_s`] = round(batch / t.median_s, 2);
    rec[`${key}.${k}_median_s`] = round(t.median_s, 3);
    rec[`${key}.${k}_cpu_s`] = round(t.cpu_s, 3);
    opts.log(`  ${key} ${k}: ${(batch / t.median_s).toFixed(2)} img/s (median ${t.median_s.toFixed(3)} s of ${t.runs}, min ${t.min_s.toFixed(3)} s, cpu ${t.cpu_s.toFixed(2)} s/run)`);
  };
  model.eval();
  for (const bs of opts.evalBatches ?? [1, 8]) {
    const x = tf.randomNormal([bs, 224, 224, 3], 0, 1, 'float32', nextSeed()) as tf.Tensor4D;
    const t = await timeIt(async () => {
      const y = tf.tidy(() => model.forward(x));
      await y.data();
      y.dispose();
    }, bs === 1 ? runs * 2 : runs, 1);
    x.dispose();
    note(`eval_bs${bs}`, t, bs);
  }
  const tb = opts.trainBatch === undefined ? 8 : opts.trainBatch;
  if (tb) {
    try {
      const t = await timeTrainStep(model, tb, Math.max(2, Math.ceil(runs / 2)), rec, key);
      note(`train_bs${tb}`, t, tb);
    } catch (e) {
      // e.g. the wasm backend: missing gradient kernels or its 4 GiB heap.
      const msg = (e as Error).message.split('\n')[0] || String(e);
      rec[`${key}.train_bs${tb}_error`] = msg;
      opts.log(`  ${key} train_bs${tb}: failed (${msg})`);
    }
  }
  model.dispose?.();
  return rec;
}
