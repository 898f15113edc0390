/**
 * Batches of a Dataset with seeded shuffling and prefetch: while the consumer trains on one batch, the next
 * `prefetch` batches are being decoded and transformed (image decoding in sharp runs off the JS thread).
 * Data order depends only on (seed, epoch); random transforms use a per-sample stream from (seed, epoch,
 * index), so prefetch timing never changes what is produced and a resumed run sees the same data.
 */
import { collate as defaultCollate } from './collate';
import { Rng, mixSeed } from './rng';
import type { Batch, CollateFn, Dataset, Sample } from './types';
import { nextSeed } from '../nn/random';

export interface DataLoaderOptions<B extends Batch = Batch> {
  batchSize: number;
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Seed of the data order and the per-sample streams (default: drawn from the global seeded stream). */
  seed?: number;
  /** Batches prepared ahead of the one being consumed (default 2; 0 loads on demand). */
  prefetch?: number;
  collate?: CollateFn<B>;
  /** mmdet GroupSampler: batches hold images of one aspect group (dataset.groupFlags), padded by resampling. */
  groupByAspect?: boolean;
  /** Log and skip samples whose loading throws (default: stop with the error). */
  skipBadSamples?: boolean;
  /**
   * Data-parallel shard (torch DistributedSampler / mmdet DistributedGroupSampler): every rank draws the same
   * epoch order from the shared seed, pads it so each rank gets as many samples (repeating from the start),
   * and keeps every `worldSize`-th sample (grouped by aspect: every `worldSize`-th batch) from `rank`.
   * `pad: false` (sharded evaluation) skips the padding, so every sample is seen exactly once.
   */
  shard?: { rank: number; worldSize: number; pad?: boolean };
  log?: (line: string) => void;
}

export class BadSampleError extends Error {
  constructor(readonly index: number, readonly filename: string, cause: unknown) {
    super(`bad sample ${index} (${filename}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BadSampleError';
  }
}

export class DataLoader<B extends Batch = Batch> {
  readonly batchSize: number;
  seed: number;
  private readonly collateFn: CollateFn<B>;
  private readonly prefetch: number;
  /** Samples skipped so far (skipBadSamples). */
  skipped = 0;

  constructor(readonly dataset: Dataset, readonly opts: DataLoaderOptions<B>) {
    if (!(opts.batchSize >= 1)) throw new Error(`DataLoader: batchSize must be >= 1, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.seed = (opts.seed ?? nextSeed()) >>> 0;
    this.collateFn = opts.collate ?? (defaultCollate as unknown as CollateFn<B>);
    this.prefetch = opts.prefetch ?? 2;
    const sh = opts.shard;
    if (sh && !(Number.isInteger(sh.worldSize) && sh.worldSize >= 1 && Number.isInteger(sh.rank) && sh.rank >= 0 && sh.rank < sh.worldSize)) {
      throw new Error(`DataLoader: shard rank ${sh.rank} of world size ${sh.worldSize} is out of range`);
    }
  }

  /** Replaces the seed (resume restores the seed of the interrupted run). */
  setSeed(seed: number): void {
    this.seed = seed >>> 0;
  }

  /** Sample order of one epoch, before batching. */
  order(epoch: number): number[] {
    const n = this.dataset.length;
    const rng = new Rng(mixSeed(this.seed, epoch, 0x5eed));
    const grouped = Boolean(this.opts.groupByAspect && this.dataset.groupFlags);
    let idx: number[];
    if (grouped) idx = groupOrder(this.dataset.groupFlags!(), this.batchSize, rng, this.opts.shuffle ?? true);
    else {
      idx = Array.from({ length: n }, (_, i) => i);
      if (this.opts.shuffle) rng.shuffle(idx);
    }
    return this.opts.shard ? shardOrder(idx, this.opts.shard, grouped ? this.batchSize : 1) : idx;
  }

  /** Index lists of every batch of `epoch`. */
  plan(epoch: number): number[][] {
    const order = this.order(epoch);
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += this.batchSize) {
      const b = order.slice(i, i + this.batchSize);
      if (b.length < this.batchSize && this.opts.dropLast) break;
      out.push(b);
    }
    return out;
  }

  /** Batches per epoch. */
  get length(): number {
    const grouped = Boolean(this.opts.groupByAspect && this.dataset.groupFlags);
    let n = grouped ? groupedLength(this.dataset.groupFlags!(), this.batchSize) : this.dataset.length;
    if (this.opts.shard && n > 0) {
      const unit = grouped ? this.batchSize : 1;
      const { rank, worldSize, pad } = this.opts.shard;
      const units = n / unit;
      n = (pad === false ? Math.floor(units / worldSize) + (rank < units % worldSize ? 1 : 0) : Math.ceil(units / worldSize)) * unit;
    }
    return this.opts.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Loads one sample with its own random stream; bad samples throw BadSampleError or are skipped. */
  async loadSample(index: number, epoch: number): Promise<Sample | null> {
    try {
      return await this.dataset.get(index, new Rng(mixSeed(this.seed, epoch, index)));
    } catch (e) {
      let filename = '?';
      try {
        filename = this.dataset.info(index).filename;
      } catch {
        // keep '?': the info itself is broken
      }
      const err = e instanceof BadSampleError ? e : new BadSampleError(index, filename, e);
      if (!this.opts.skipBadSamples) throw err;
      this.skipped++;
      (this.opts.log ?? console.warn)(`[data] skipping ${err.message}`);
      return null;
    }
  }

  private async loadBatch(indices: number[], epoch: number): Promise<Sample[]> {
    const got = await Promise.all(indices.map((i) => this.loadSample(i, epoch)));
    return got.filter((s): s is Sample => s !== null);
  }

  /**
   * Batches of `epoch`, starting at batch `start` (resume). Tensors are created when a batch is handed out;
   * the consumer disposes them. A batch whose samples were all skipped is left out.
   */
  async *batches(epoch: number, start = 0): AsyncGenerator<B> {
    const plan = this.plan(epoch).slice(start);
    const pending: Promise<Sample[]>[] = [];
    let next = 0;
    const launch = (limit: number) => {
      while (next < plan.length && pending.length < limit) {
        const p = this.loadBatch(plan[next++], epoch);
        p.catch(() => undefined); // rejection is delivered when awaited; avoid an unhandled-rejection crash
        pending.push(p);
      }
    };
    for (;;) {
      launch(this.prefetch + 1); // the batch to hand out next plus `prefetch` ahead
      const head = pending.shift();
      if (!head) return;
      const samples = await head;
      launch(this.prefetch); // keep `prefetch` batches loading while the consumer trains
      if (samples.length) yield this.collateFn(samples);
    }
  }
}

function groupedLength(flags: Uint8Array, bs: number): number {
  const sizes = new Map<number, number>();
  for (const f of flags) sizes.set(f, (sizes.get(f) ?? 0) + 1);
  let n = 0;
  for (const s of sizes.values()) n += Math.ceil(s / bs) * bs;
  return n;
}

/**
 * One rank's part of a global order, in units of `unit` consecutive indices (1 = samples, batchSize = whole
 * batches of one aspect group): the units are padded to a multiple of worldSize by repeating from the start,
 * then rank r keeps units r, r + worldSize, ...
 */
function shardOrder(order: number[], shard: { rank: number; worldSize: number; pad?: boolean }, unit: number): number[] {
  const units = order.length / unit;
  if (units === 0) return [];
  const total = shard.pad === false ? units : Math.ceil(units / shard.worldSize) * shard.worldSize;
  const out: number[] = [];
  for (let u = shard.rank; u < total; u += shard.worldSize) {
    const src = u % units;
    for (let k = 0; k < unit; k++) out.push(order[src * unit + k]);
  }
  return out;
}

/** mmdet GroupSampler order: shuffle inside each group, pad groups to whole batches, shuffle the batches. */
function groupOrder(flags: Uint8Array, bs: number, rng: Rng, shuffle: boolean): number[] {
  const groups = [...new Set(flags)].sort((a, b) => a - b);
  const all: number[] = [];
  for (const g of groups) {
    const idx: number[] = [];
    flags.forEach((f, i) => f === g && idx.push(i));
    if (shuffle) rng.shuffle(idx);
    const extra = Math.ceil(idx.length / bs) * bs - idx.length;
    const base = idx.length;
    for (let k = 0; k < extra; k++) idx.push(idx[rng.int(base)]);
    all.push(...idx);
  }
  const batches = Array.from({ length: all.length / bs }, (_, b) => b);
  if (shuffle) rng.shuffle(batches);
  return batches.flatMap((b) => all.slice(b * bs, (b + 1) * bs));
}
