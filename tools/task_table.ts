/**
 * The tasks the tools run, by `--task` name, and the tools' engine dependencies (config files under
 * configs/, checkpoints on disk: `fileCliDeps` of @litv2/core/node). Each entry is a literal import of the
 * task package's exported TaskDefinition, so only the task asked for is loaded.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileCliDeps, taskEntry, type CliDeps, type TaskTable } from '@litv2/core/node';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const TASKS: TaskTable = {
  detection: async () => taskEntry((await import('@litv2/detection')).detectionTask),
  segmentation: async () => taskEntry((await import('@litv2/segmentation')).segmentationTask),
  classification: async () => taskEntry((await import('@litv2/classification')).classificationTask),
};

/** What tools/train.ts, tools/eval.ts and the predict / bench tools pass to the engine. */
export function toolDeps(): CliDeps {
  return fileCliDeps({ repoRoot, tasks: TASKS });
}
