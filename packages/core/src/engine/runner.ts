/**
 * The training loop shared by every task: epoch-based (mmcv EpochBasedRunner) or iteration-based
 * (IterBasedRunner). One iteration = forward inside a gradient tape, NaN/Inf guard on every loss term, optional
 * gradient-norm clipping, optimizer step, with every intermediate tensor disposed (the tensor count is the
 * same after each iteration). Checkpoints hold weights, optimizer slots, position and random-stream state, so
 * `resume()` continues exactly where an uninterrupted run would be.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getRandomState, setRandomState } from '../nn/random';
import { variableGradsLean } from '../nn/backprop';
import type { DataLoader } from '../data/dataloader';
import { disposeBatch } from '../data/collate';
import type { Batch } from '../data/types';
import { writeTextFileAtomic } from '../checkpoint/atomic';
import type { LrSchedule } from './lr_schedule';
import type { Optimizer } from './optimizer';
import type { Checkpoint } from '../checkpoint/safetensors';
import type { TrainableModel } from './types';
import { CHECKPOINT_EXT, LAST_CHECKPOINT_FILE, checkpointPointer, readCheckpointPointer } from './work_dir';

// ---------------------------------------------------------------- hooks (mmcv-style)
// The Hook contract lives with the Runner it is called by, so hook files depend on the runner and not
// the other way round. Hooks run in ascending `priority` (default 50) at each point.

/** What one training iteration produced (numbers already read back from the device). */
export interface IterResult {
  /** 0-based global iteration just finished. */
  iter: number;
  /** 0-based epoch (iteration runner: the data loader's epoch). */
  epoch: number;
  /** 0-based iteration inside the epoch. */
  innerIter: number;
  /** Every term forwardTrain returned, plus `loss` (the optimised total). */
  losses: Record<string, number>;
  /** Learning rate of the base group used for this step. */
  lr: number;
  /** Global gradient norm when clipping is on. */
  gradNorm?: number;
  batchSize: number;
  /** Seconds waiting for data, and for the whole iteration (data + step). */
  dataTime: number;
  iterTime: number;
}

export interface Hook {
  readonly name: string;
  /** Lower runs first (mmcv: VERY_HIGH 10 ... NORMAL 50 ... VERY_LOW 90). */
  readonly priority?: number;
  beforeRun?(runner: Runner): void | Promise<void>;
  beforeEpoch?(runner: Runner): void | Promise<void>;
  afterIter?(runner: Runner, result: IterResult): void | Promise<void>;
  afterEpoch?(runner: Runner): void | Promise<void>;
  afterRun?(runner: Runner): void | Promise<void>;
  /** Receives every log record (training intervals, evaluations) written through `runner.writeRecord`. */
  onRecord?(runner: Runner, record: LogRecord): void | Promise<void>;
}

// LogRecord lives in types.ts so browser-side analysis (curves.ts) can use it without reaching this node-only file.
import type { LogRecord } from './types';
export type { LogRecord };


/** What a checkpoint holds: core/checkpoint's `Checkpoint`. */
export type CheckpointData = Checkpoint;

/** Checkpoint reader/writer; the default is core/checkpoint (atomic writes). */
export interface CheckpointIO {
  save(file: string, data: CheckpointData): void | Promise<void>;
  load(file: string): CheckpointData | Promise<CheckpointData>;
}

export interface RunnerOptions<B extends Batch = Batch> {
  model: TrainableModel<B>;
  optimizer: Optimizer;
  lrSchedule: LrSchedule;
  trainLoader: DataLoader<B>;
  /** Give exactly one: epochs (epoch-based runner) or iterations (iteration-based runner). */
  maxEpochs?: number;
  maxIters?: number;
  workDir: string;
  hooks?: Hook[];
  /** mmcv `optimizer_config.grad_clip`: clip the global L2 norm of all gradients (torch clip_grad_norm_). */
  gradClip?: { max_norm: number; norm_type?: number };
  checkpointIO: CheckpointIO;
  log?: (line: string) => void;
  /** Extra meta stored in every checkpoint (e.g. config name). */
  meta?: Record<string, unknown>;
  /**
   * Data-parallel training: replaces the gradients (keyed by parameter name) by their mean over all ranks,
   * before clipping and the optimizer step (distributed/data_parallel.ts makeGradientAverager).
   */
  reduceGrads?: (grads: Record<string, tf.Tensor>) => void;
}

/** Thrown when a loss term is NaN or infinite; weights are left as they were before the iteration. */
export class NonFiniteLossError extends Error {
  constructor(readonly iter: number, readonly term: string, readonly value: number) {
    super(`non-finite loss at iteration ${iter + 1}: '${term}' = ${value}; stopping (weights not updated by this iteration)`);
    this.name = 'NonFiniteLossError';
  }
}

export { LAST_CHECKPOINT_FILE, CHECKPOINT_EXT } from './work_dir';

export class Runner<B extends Batch = Batch> {
  readonly mode: 'epoch' | 'iter';
  readonly model: TrainableModel<B>;
  readonly optimizer: Optimizer;
  readonly loader: DataLoader<B>;
  readonly workDir: string;
  readonly hooks: Hook[];
  readonly maxEpochs: number;
  readonly maxIters: number;
  readonly log: (line: string) => void;
  /** 0-based epoch being run (after a run: epochs completed). */
  epoch = 0;
  /** Iterations completed. */
  iter = 0;
  /** Iterations completed inside the current epoch. */
  innerIter = 0;
  /** Last evaluation metrics (set by the eval hook). */
  lastMetrics?: Record<string, number>;
  /** Meta of the checkpoint `resume()` restored (e.g. the world size it was saved with). */
  resumedMeta?: Record<string, unknown>;
  private stopRequested = false;

  constructor(readonly opts: RunnerOptions<B>) {
    if ((opts.maxEpochs === undefined) === (opts.maxIters === undefined)) throw new Error('Runner: give exactly one of maxEpochs and maxIters');
    this.mode = opts.maxEpochs !== undefined ? 'epoch' : 'iter';
    this.model = opts.model;
    this.optimizer = opts.optimizer;
    this.loader = opts.trainLoader;
    this.workDir = opts.workDir;
    this.hooks = [...(opts.hooks ?? [])].sort((a, b) => (a.priority ?? 50) - (b.priority ?? 50));
    const perEpoch = this.loader.length;
    if (perEpoch === 0) throw new Error('Runner: the training loader yields no batch (empty dataset or batch larger than dataset with drop_last)');
    this.maxEpochs = opts.maxEpochs ?? Math.ceil(opts.maxIters! / perEpoch);
    this.maxIters = opts.maxIters ?? opts.maxEpochs! * perEpoch;
    this.log = opts.log ?? ((l) => console.log(l));
  }

  /** Batches per epoch. */
  get itersPerEpoch(): number {
    return this.loader.length;
  }

  /** Ends the run after the current iteration. */
  requestStop(): void {
    this.stopRequested = true;
  }

  private async call(point: 'beforeRun' | 'beforeEpoch' | 'afterEpoch' | 'afterRun'): Promise<void> {
    for (const h of this.hooks) await h[point]?.(this);
  }

  /** Sends a record to every hook that logs (text, JSON lines). */
  async writeRecord(record: LogRecord): Promise<void> {
    for (const h of this.hooks) await h.onRecord?.(this, record);
  }

  async run(): Promise<void> {
    fs.mkdirSync(this.workDir, { recursive: true });
    this.model.train();
    await this.call('beforeRun');
    while (this.iter < this.maxIters && !this.stopRequested) {
      if (this.mode === 'iter') {
        // The loader's epoch and the batch inside it follow from the iteration count alone.
        this.epoch = Math.floor(this.iter / this.itersPerEpoch);
        this.innerIter = this.iter % this.itersPerEpoch;
      }
      if (this.innerIter === 0) await this.call('beforeEpoch');
      let tData = performance.now();
      let interrupted = false;
      for await (const batch of this.loader.batches(this.epoch, this.innerIter)) {
        const t0 = performance.now();
        const res = await this.trainStep(batch, (t0 - tData) / 1000, t0);
        this.iter++;
        this.innerIter++;
        for (const h of this.hooks) await h.afterIter?.(this, res);
        tData = performance.now();
        if (this.stopRequested || (this.iter >= this.maxIters && this.innerIter < this.itersPerEpoch)) {
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;
      // The epoch is complete (a batch whose samples were all skipped counts as done).
      this.innerIter = this.itersPerEpoch;
      await this.call('afterEpoch');
      this.epoch++;
      this.innerIter = 0;
    }
    await this.call('afterRun');
  }

  /** One optimisation step on `batch` (disposes the batch). Reads back asynchronously: GPU backends cannot read synchronously. */
  async trainStep(batch: B, dataTime = 0, t0 = performance.now()): Promise<IterResult> {
    const lr = this.opts.lrSchedule.lrAt({ iter: this.iter, epoch: this.epoch, maxIters: this.maxIters, maxEpochs: this.maxEpochs });
    this.optimizer.lr = lr;
    const params = this.optimizer.params;
    const nameOf = new Map(params.map((p) => [p.variable.name, p.name]));
    let names: string[] = [];
    let termsVec: tf.Tensor | undefined;
    let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    try {
      out = variableGradsLean(() => {
        const terms = this.model.forwardTrain(batch);
        names = Object.keys(terms);
        const lossNames = names.filter((n) => n.includes('loss'));
        if (!lossNames.length) throw new Error(`forwardTrain returned no term whose name contains 'loss' (got: ${names.join(', ')})`);
        const total = (lossNames.length === 1 ? terms[lossNames[0]] : tf.addN(lossNames.map((n) => terms[n]))) as tf.Scalar;
        termsVec = tf.keep(tf.stack([...names.map((n) => terms[n].reshape([])), total.reshape([])]));
        return total;
      }, params.map((p) => p.variable));
      const vals = await termsVec!.data();
      const losses: Record<string, number> = {};
      names.forEach((n, i) => (losses[n] = vals[i]));
      losses.loss = vals[names.length];
      for (const [n, v] of Object.entries(losses)) {
        if (!Number.isFinite(v)) throw new NonFiniteLossError(this.iter, n, v);
      }
      const grads: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(out.grads)) grads[nameOf.get(vn)!] = g;
      this.opts.reduceGrads?.(grads);
      let gradNorm: number | undefined;
      if (this.opts.gradClip) {
        gradNorm = await clipGradNorm(grads, this.opts.gradClip.max_norm, this.opts.gradClip.norm_type ?? 2);
      }
      this.optimizer.step(grads);
      for (const g of Object.values(grads)) g.dispose();
      const now = performance.now();
      return {
        iter: this.iter,
        epoch: this.epoch,
        innerIter: this.innerIter,
        losses,
        lr,
        gradNorm,
        batchSize: batch.imgs.shape[0],
        dataTime,
        iterTime: dataTime + (now - t0) / 1000,
      };
    } finally {
      if (out) {
        out.value.dispose();
        for (const g of Object.values(out.grads)) if (!g.isDisposed) g.dispose();
      }
      termsVec?.dispose();
      disposeBatch(batch);
    }
  }

  /** Writes a checkpoint (weights, optimizer, position, random state) and points `last_checkpoint` at it. */
  async saveCheckpoint(file: string, extraMeta: Record<string, unknown> = {}): Promise<void> {
    const model = this.model.stateDict();
    const optimizer = this.optimizer.getState();
    try {
      // A checkpoint at the end of an epoch resumes at the start of the next one.
      const done = this.innerIter >= this.itersPerEpoch;
      const meta = {
        ...this.opts.meta,
        ...extraMeta,
        epoch: done ? this.epoch + 1 : this.epoch,
        iter: this.iter,
        innerIter: done ? 0 : this.innerIter,
        mode: this.mode,
        loaderSeed: this.loader.seed,
        randomState: getRandomState(),
        time: new Date().toISOString(),
      };
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await this.opts.checkpointIO.save(file, { model, optimizer, meta });
      // Relative to the work dir, so a copy of the work dir resumes from its own files.
      writeTextFileAtomic(path.join(this.workDir, LAST_CHECKPOINT_FILE), checkpointPointer(this.workDir, file) + '\n');
    } finally {
      for (const t of Object.values(model)) t.dispose();
      for (const d of Object.values(optimizer.slots)) for (const t of Object.values(d)) t.dispose();
    }
  }

  /**
   * Restores weights, optimizer, position and random streams from `file` (default: the work dir's latest
   * checkpoint). Returns the file used, or undefined when there is nothing to resume from.
   */
  async resume(file?: string): Promise<string | undefined> {
    const f = file ?? findLatestCheckpoint(this.workDir);
    if (!f) return undefined;
    const ck = await this.opts.checkpointIO.load(f);
    try {
      this.model.loadStateDict(ck.model);
      if (ck.optimizer) this.optimizer.setState(ck.optimizer);
      const m = ck.meta;
      const num = (k: string): number => {
        const v = m[k];
        if (typeof v !== 'number') throw new Error(`checkpoint ${f}: meta.${k} is missing or not a number`);
        return v;
      };
      this.resumedMeta = m;
      this.epoch = num('epoch');
      this.iter = num('iter');
      this.innerIter = num('innerIter');
      this.loader.setSeed(num('loaderSeed'));
      setRandomState(num('randomState'));
    } finally {
      for (const t of Object.values(ck.model)) t.dispose();
      if (ck.optimizer) for (const d of Object.values(ck.optimizer.slots)) for (const t of Object.values(d)) t.dispose();
    }
    this.log(`resumed from ${f} (epoch ${this.epoch}, iter ${this.iter})`);
    return f;
  }
}

/** torch.nn.utils.clip_grad_norm_: scales all grads in place (replacing entries) when the norm exceeds maxNorm. */
export async function clipGradNorm(grads: Record<string, tf.Tensor>, maxNorm: number, normType = 2): Promise<number> {
  if (normType !== 2) throw new Error(`grad_clip: only norm_type 2 is supported, got ${normType}`);
  const gs = Object.values(grads);
  if (!gs.length) return 0;
  const total = tf.tidy(() => tf.addN(gs.map((g) => g.square().sum())).sqrt());
  const norm = (await total.data())[0];
  total.dispose();
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const k of Object.keys(grads)) {
      const old = grads[k];
      grads[k] = old.mul(coef);
      old.dispose();
    }
  }
  return norm;
}

/** The newest checkpoint of a work dir: `last_checkpoint` if it points at an existing file, else the newest file by iteration. */
export function findLatestCheckpoint(workDir: string): string | undefined {
  const pointed = readCheckpointPointer(workDir);
  if (pointed) return pointed;
  if (!fs.existsSync(workDir)) return undefined;
  const files = fs.readdirSync(workDir).filter((f) => f.endsWith(CHECKPOINT_EXT));
  if (!files.length) return undefined;
  files.sort((a, b) => fs.statSync(path.join(workDir, b)).mtimeMs - fs.statSync(path.join(workDir, a)).mtimeMs);
  return path.join(workDir, files[0]);
}
