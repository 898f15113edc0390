/**
 * Contracts between the shared engine and the task packages (detection, segmentation, classification).
 * A task package exports its `TaskDefinition`; the tools pick it from their task table (tools/task_table.ts)
 * and drive it through the `Runner` without knowing the task.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module';
import type { ConfigNode } from '../registry/registry';
import type { Batch, Dataset, Sample } from '../data/types';

export type Split = 'train' | 'val' | 'test';

/** A model the Runner can train: a `Module` whose `forwardTrain` returns named scalar loss terms. */
export interface TrainableModel<B extends Batch = Batch> extends Module {
  /**
   * Forward pass in training mode. Returns scalar terms; the optimised total is the sum of the terms whose
   * name contains 'loss' (others, e.g. 'acc', are only logged) — mmdet's `parse_losses` rule. Runs inside the
   * Runner's gradient tape: update BatchNorm running statistics here (variable.assign), do not dispose inputs.
   */
  forwardTrain(batch: B): Record<string, tf.Scalar>;
}

/** Everything a task builder may need besides the config node. */
export interface TaskContext {
  /** The top-level config file (for error messages). */
  configFile: string;
  /** Repository root (configs, data and `../shared/reference` are resolved from it). */
  repoRoot: string;
  /** Log and skip unreadable samples instead of stopping. */
  skipBadSamples: boolean;
  log: (line: string) => void;
}

export interface EvalOptions {
  /** Directory for result files (e.g. COCO-format detections). */
  workDir: string;
  log: (line: string) => void;
  /** Where to write raw results (tools/eval.ts `--out`). */
  out?: string;
  /** Test-time batch size (default 1, as mmdet/mmseg). */
  batchSize?: number;
  skipBadSamples?: boolean;
  /** Sharded evaluation in a data-parallel run (see EvalShard). */
  shard?: EvalShard;
}

/**
 * Sharded evaluation (mmdet multi_gpu_test + collect_results): rank r runs inference on images r, r + worldSize,
 * ...; `gather` returns every rank's value in rank order (a collective: every rank calls it once, in the same
 * place). Rank 0 evaluates the gathered results once; the other ranks return empty metrics.
 */
export interface EvalShard {
  rank: number;
  worldSize: number;
  gather<T>(value: T): T[];
}

export interface EvalResult {
  /** Flat metric values, e.g. `{ bbox_mAP: 0.31, bbox_mAP_50: 0.55 }` or `{ mIoU: 0.52, aAcc: 0.9 }`. */
  metrics: Record<string, number>;
  /** Human-readable table printed by the tools and the eval hook. */
  table: string;
}

/**
 * One task (registered under 'detection', 'segmentation' or 'classification'). `cfg` is the whole merged
 * config (mmdet layout: `model`, `data.{train,val,test}`, `optimizer`, `lr_config`, `runner`, ...).
 */
export interface TaskDefinition<M extends TrainableModel<B> = TrainableModel, B extends Batch = Batch> {
  readonly name: string;
  /** Builds the model from `cfg.model` (and loads `init_cfg` pretrained weights if configured). */
  buildModel(cfg: ConfigNode, ctx: TaskContext): M | Promise<M>;
  /** Builds `cfg.data[split]` (dataset + pipeline). */
  buildDataset(cfg: ConfigNode, split: Split, ctx: TaskContext): Dataset | Promise<Dataset>;
  /** Samples -> batch (creates the tensors). Default: `collate` from core/data (pads images, seg maps). */
  collate?(samples: Sample[]): B;
  /** Runs inference over `dataset` and computes the task's metrics (model is put in eval mode by the caller). */
  evaluate(model: M, dataset: Dataset, cfg: ConfigNode, opts: EvalOptions): Promise<EvalResult>;
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
