/**
 * The real config loader and checkpoint IO for the engine's CLI functions, shared by tools/train.ts and
 * tools/eval.ts (tests inject in-memory ones instead).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint, loadConfig, loadStateDictFile, saveCheckpoint, type CliDeps } from '@litv2/core/node';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function engineDeps(): CliDeps {
  return {
    loadConfig: (name, opts) => loadConfig(name, { ...opts, configsDir: path.join(repoRoot, 'configs') }),
    checkpointIO: { save: (f, d) => saveCheckpoint(f, d), load: (f) => loadCheckpoint(f) },
    loadWeights: (f) => loadStateDictFile(f),
    importTask: (task) => import(`@litv2/${task}`),
    repoRoot,
    progressBar: Boolean(process.stderr.isTTY),
  };
}
