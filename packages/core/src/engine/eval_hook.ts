import type { Dataset } from '../data/types';
import type { ConfigNode } from '../registry/registry';
import type { Hook, IterResult } from './runner';
import type { Runner } from './runner';
import type { EvalResult, EvalShard, TaskDefinition, TrainableModel } from './types';

export interface EvalHookOptions {
  task: TaskDefinition;
  dataset: Dataset;
  cfg: ConfigNode;
  /** Every `interval` epochs (byEpoch) or iterations; the last epoch/iteration is always evaluated. */
  interval: number;
  byEpoch: boolean;
  batchSize?: number;
  skipBadSamples?: boolean;
  /** Data-parallel runs: every rank evaluates its shard, rank 0 the gathered results (types.ts EvalShard). */
  shard?: EvalShard;
}

/** Evaluates the model with `task.evaluate`, prints the table and logs a 'val' record. */
export class EvalHook implements Hook {
  readonly name = 'EvalHook';
  readonly priority = 60;
  lastResult?: EvalResult;
  constructor(readonly opts: EvalHookOptions) {}

  private async evaluate(runner: Runner): Promise<void> {
    const model = runner.model as unknown as TrainableModel;
    model.eval();
    let res: EvalResult;
    try {
      res = await this.opts.task.evaluate(model, this.opts.dataset, this.opts.cfg, {
        workDir: runner.workDir,
        log: runner.log,
        batchSize: this.opts.batchSize,
        skipBadSamples: this.opts.skipBadSamples,
        shard: this.opts.shard,
      });
    } finally {
      model.train();
    }
    // Only rank 0 holds metrics in a sharded evaluation.
    if (this.opts.shard && this.opts.shard.rank !== 0) return;
    this.lastResult = res;
    runner.lastMetrics = res.metrics;
    runner.log(res.table);
    await runner.writeRecord({ mode: 'val', epoch: runner.epoch + 1, iter: runner.iter, ...res.metrics });
  }

  async afterEpoch(runner: Runner): Promise<void> {
    if (!this.opts.byEpoch) return;
    const e = runner.epoch + 1;
    if (e % this.opts.interval === 0 || e === runner.maxEpochs) await this.evaluate(runner);
  }

  async afterIter(runner: Runner, _r: IterResult): Promise<void> {
    if (this.opts.byEpoch) return;
    if (runner.iter % this.opts.interval === 0 || runner.iter === runner.maxIters) await this.evaluate(runner);
  }
}
