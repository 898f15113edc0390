/**
 * Glue between the engine's CLI functions and the config / checkpoint modules of @litv2/core, shared by
 * tools/train.ts and tools/eval.ts. The two modules are loaded at run time by path with the agreed API
 * (helper guide: loadConfig, saveCheckpoint, loadCheckpoint, loadStateDictFile), so the tools report clearly
 * which one is missing instead of failing to start.
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CheckpointData, CliDeps, ConfigNode, StateDict } from '@litv2/core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ConfigModule {
  loadConfig(nameOrPath: string, opts?: { cfgOptions?: string[]; configsDir?: string }): { cfg: ConfigNode; file: string; name: string };
}
interface CheckpointModule {
  saveCheckpoint(file: string, data: CheckpointData): void | Promise<void>;
  loadCheckpoint(file: string): CheckpointData | Promise<CheckpointData>;
  loadStateDictFile(file: string, opts?: { prefix?: string }): Promise<StateDict>;
}

async function importCore<T>(rel: string, what: string): Promise<T> {
  const file = path.join(repoRoot, 'packages/core/src', rel, 'index.ts');
  try {
    return (await import(pathToFileURL(file).href)) as T;
  } catch (e) {
    throw new Error(`cannot load the ${what} module (${path.relative(repoRoot, file)}): ${(e as Error).message}`);
  }
}

export async function engineDeps(): Promise<CliDeps> {
  const config = await importCore<ConfigModule>('config', 'config');
  const ckpt = await importCore<CheckpointModule>('checkpoint', 'checkpoint');
  return {
    loadConfig: (name, opts) => config.loadConfig(name, opts),
    checkpointIO: { save: (f, d) => ckpt.saveCheckpoint(f, d), load: (f) => ckpt.loadCheckpoint(f) },
    loadWeights: (f) => ckpt.loadStateDictFile(f),
    importTask: (task) => import(`@litv2/${task}`),
    repoRoot,
    progressBar: Boolean(process.stderr.isTTY),
  };
}
