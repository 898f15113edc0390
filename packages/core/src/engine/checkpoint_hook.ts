import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hook, IterResult } from './runner';
import { CHECKPOINT_EXT, type Runner } from './runner';

export interface CheckpointHookOptions {
  /** Every `interval` epochs (byEpoch) or iterations. */
  interval: number;
  byEpoch: boolean;
  /** Keep only the newest N periodic checkpoints (mmcv max_keep_ckpts; default: keep all). */
  maxKeep?: number;
}

/** Saves `epoch_N.ckpt` / `iter_N.ckpt` in the work dir (atomically, through the Runner's CheckpointIO). */
export class CheckpointHook implements Hook {
  readonly name = 'CheckpointHook';
  readonly priority = 70;
  private readonly saved: string[] = [];
  constructor(readonly opts: CheckpointHookOptions) {
    if (!(opts.interval >= 1)) throw new Error(`checkpoint interval must be >= 1, got ${opts.interval}`);
  }

  private async save(runner: Runner, name: string): Promise<void> {
    const file = path.join(runner.workDir, `${name}${CHECKPOINT_EXT}`);
    await runner.saveCheckpoint(file);
    this.saved.push(file);
    if (this.opts.maxKeep !== undefined && this.opts.maxKeep > 0) {
      while (this.saved.length > this.opts.maxKeep) {
        const old = this.saved.shift()!;
        if (old !== file) fs.rmSync(old, { force: true });
      }
    }
  }

  async afterEpoch(runner: Runner): Promise<void> {
    if (!this.opts.byEpoch) return;
    const e = runner.epoch + 1;
    if (e % this.opts.interval === 0 || e === runner.maxEpochs) await this.save(runner, `epoch_${e}`);
  }

  async afterIter(runner: Runner, _r: IterResult): Promise<void> {
    if (this.opts.byEpoch) return;
    if (runner.iter % this.opts.interval === 0 || runner.iter === runner.maxIters) await this.save(runner, `iter_${runner.iter}`);
  }
}
