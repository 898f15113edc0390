/**
 * One rank of the data-parallel tests (distributed.test.ts), run with tsx:
 *   tsx dp_worker.ts '{"rank":0,"worldSize":2,"store":DIR,"batch":B,"iters":K,"out":FILE,"dieAtIter":N?}'
 * Trains a deterministic toy model through the Runner on its DataLoader shard, with gradients averaged over
 * Gloo; rank 0 writes the final weights (JSON) to `out`. With worldSize 1 it trains alone, no Gloo.
 * `saveTo` writes a checkpoint at the end (rank 0), `resumeFrom` resumes from one (any earlier world size).
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Module, Conv2d, Linear, BatchNorm2d, seedEverything, setBatchNormSync } from '../../src/nn';
import type { Batch } from '../../src/data/types';
import { DataLoader } from '../../src/data/dataloader';
import { Runner } from '../../src/engine/runner';
import { buildOptimizer } from '../../src/engine/optimizer';
import { buildLrSchedule } from '../../src/engine/lr_schedule';
import { ProcessGroup } from '../../src/distributed/gloo';
import { broadcastModuleState, makeGradientAverager } from '../../src/distributed/data_parallel';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint';
import { MemoryCheckpointIO, ToyDataset } from './toy';

/** conv -> global mean -> linear, mean squared error: the loss of 2B samples is the mean of two B-sample losses. */
class DpToy extends Module {
  readonly conv = this.addModule('conv', new Conv2d(3, 4, 3, { padding: 1 }));
  readonly head = this.addModule('head', new Linear(4, 2));
  readonly bn?: BatchNorm2d;
  constructor(syncBn: boolean) {
    super();
    if (syncBn) {
      this.bn = this.addModule('bn', new BatchNorm2d(4));
      this.bn.sync = true;
    }
  }
  forwardTrain(batch: Batch): Record<string, tf.Scalar> {
    let feat = this.conv.forward(batch.imgs);
    if (this.bn) feat = this.bn.forward(feat);
    const pred = this.head.forward(feat.relu().mean([1, 2])) as tf.Tensor2D;
    const target = tf.tensor2d(batch.samples.flatMap((s) => [s.info.index % 3, (s.meta.flip ? 1 : -1) * 0.5]), [batch.samples.length, 2]);
    return { loss_mse: pred.sub(target).square().mean() as tf.Scalar };
  }
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as { rank: number; worldSize: number; store: string; batch: number; iters: number; out: string; dieAtIter?: number; seed?: number; syncBn?: boolean; saveTo?: string; resumeFrom?: string };
  await tf.setBackend('cpu');
  // Rank 1 starts from other weights: the broadcast from rank 0 must make them equal.
  seedEverything((o.seed ?? 3) + (o.rank === 1 ? 100 : 0));
  const model = new DpToy(Boolean(o.syncBn));
  const group = o.worldSize > 1 ? new ProcessGroup({ rank: o.rank, worldSize: o.worldSize, store: o.store, prefix: 't', hostname: '127.0.0.1', timeoutMs: 20_000 }) : undefined;
  // SyncBN: global statistics through Gloo; one process uses the same code path with a no-op all-reduce.
  if (o.syncBn) setBatchNormSync(group ? (buf) => group.allreduceSum(buf) : () => {});
  const optimizer = buildOptimizer(model, { type: 'SGD', lr: 0.05, momentum: 0.9 });
  const loader = new DataLoader(new ToyDataset(12), { batchSize: o.batch, shuffle: true, seed: 7, prefetch: 0, shard: group && { rank: o.rank, worldSize: o.worldSize } });
  const runner = new Runner({
    model: model as unknown as import('../../src/engine/types').TrainableModel,
    optimizer,
    lrSchedule: buildLrSchedule({ policy: 'fixed' }, optimizer.baseLr),
    trainLoader: loader,
    maxIters: o.iters,
    workDir: `${o.out}.work${o.rank}`,
    checkpointIO: o.saveTo || o.resumeFrom ? { save: (f, d) => saveCheckpoint(f, d), load: (f) => loadCheckpoint(f) } : new MemoryCheckpointIO(),
    log: () => {},
    reduceGrads: group && makeGradientAverager(group, optimizer.params.map((p) => p.name), new Map(optimizer.params.map((p) => [p.name, p.variable.shape])), 64),
    hooks: [{ name: 'die', afterIter: (r) => { if (o.dieAtIter !== undefined && o.rank === 1 && r.iter === o.dieAtIter) process.kill(process.pid, 'SIGKILL'); } }],
  });
  if (o.resumeFrom) await runner.resume(o.resumeFrom);
  if (group) broadcastModuleState(group, model);
  await runner.run();
  if (o.saveTo && o.rank === 0) await runner.saveCheckpoint(o.saveTo);
  if (o.rank === 0) {
    const sd = model.stateDict();
    fs.writeFileSync(o.out, JSON.stringify(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, Array.from(t.dataSync())]))));
  }
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
