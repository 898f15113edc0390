/**
 * Hook interface of the Runner (mmcv-style). Hooks run in ascending `priority` (default 50) at each point.
 */
import type { Runner } from './runner';

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

/** One JSON-lines log record: `mode` 'train' (per log interval) or 'val' (per evaluation). */
export interface LogRecord {
  mode: 'train' | 'val';
  /** 1-based epoch (as mmcv logs it). */
  epoch: number;
  /** 1-based global iteration. */
  iter: number;
  [key: string]: number | string;
}
