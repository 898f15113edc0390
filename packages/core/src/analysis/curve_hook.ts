/**
 * Node-only training hook: after every evaluation it redraws `curves.png` / `curves.svg` in the work dir from
 * the run's logs (loss terms, learning rate, headline metrics), so a run can be watched as a picture.
 */
import * as path from 'node:path';
import type { Hook, LogRecord } from '../engine/runner';
import type { Runner } from '../engine/runner';
import { buildCurveSeries, curveChartSpec, defaultCurveKeys } from './curves';
import { readRunLog } from './log_files';
import { writeChart, type ChartFiles } from './render_chart';
import { HOOKS } from '../registry/registries';
import { ConfigError } from '../registry/registry';

export interface CurvePlotHookOptions {
  /** Keys to draw (default: `defaultCurveKeys` of the log). */
  keys?: string[];
  /** File name without extension inside the work dir (default 'curves'). */
  name?: string;
  log?: (line: string) => void;
}

export class CurvePlotHook implements Hook {
  readonly name = 'CurvePlotHook';
  /** After the JSON-lines logger (85), so the evaluation record is already in the file. */
  readonly priority = 90;
  lastFiles?: ChartFiles;
  constructor(readonly opts: CurvePlotHookOptions = {}) {}

  async onRecord(runner: Runner, rec: LogRecord): Promise<void> {
    if (rec.mode !== 'val') return;
    try {
      const run = readRunLog(runner.workDir, path.basename(runner.workDir));
      const keys = this.opts.keys ?? defaultCurveKeys(run.records);
      const spec = curveChartSpec(buildCurveSeries([run], keys, runner.mode === 'epoch' ? 'epoch' : 'iter'), { title: run.label });
      this.lastFiles = await writeChart(spec, path.join(runner.workDir, this.opts.name ?? 'curves'));
    } catch (e) {
      // A picture is never worth stopping a training run for.
      (this.opts.log ?? runner.log)(`warning: curve plot not written: ${(e as Error).message}`);
    }
  }
}

HOOKS.register('CurvePlotHook', {
  defaults: { keys: null as unknown, name: 'curves' as unknown },
  build: (cfg, _ctx, origin) => {
    const keys = cfg.keys;
    if (keys !== null && (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))) throw new ConfigError('keys must be a list of log keys or null', { ...origin, path: `${origin.path}.keys` });
    if (typeof cfg.name !== 'string') throw new ConfigError('name must be a file name', { ...origin, path: `${origin.path}.name` });
    return new CurvePlotHook({ keys: (keys as string[] | null) ?? undefined, name: cfg.name });
  },
});
