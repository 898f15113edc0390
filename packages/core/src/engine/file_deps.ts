import * as path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint';
import { loadStateDictFile } from '../checkpoint/state-dict-file';
import { loadConfig } from '../config/load';
import type { CliDeps } from './cli';
import type { TaskTable } from './task_table';

/**
 * The real dependencies of `trainCli` / `evalCli`: YAML configs from `<repoRoot>/configs` (or `configsDir`),
 * checkpoints on disk, the tool's task table. Tests pass in-memory ones instead.
 */
export function fileCliDeps(opts: { repoRoot: string; tasks: TaskTable; configsDir?: string; progressBar?: boolean }): CliDeps {
  const configsDir = opts.configsDir ?? path.join(opts.repoRoot, 'configs');
  return {
    loadConfig: (name, o) => loadConfig(name, { ...o, configsDir }),
    checkpointIO: { save: (f, d) => saveCheckpoint(f, d), load: (f) => loadCheckpoint(f) },
    loadWeights: (f) => loadStateDictFile(f),
    tasks: opts.tasks,
    repoRoot: opts.repoRoot,
    progressBar: opts.progressBar ?? Boolean(process.stderr.isTTY),
  };
}
