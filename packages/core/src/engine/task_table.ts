import { didYouMean } from '../utils/suggest';
import type { Batch } from '../data/types';
import type { TaskDefinition, TrainableModel } from './types';

/**
 * The tasks a tool can run, by name: each entry is the task package's exported TaskDefinition or a loader
 * of it written as a literal `import()` (so only the task asked for is loaded). A plain table, filled in by
 * the tools (tools/task_table.ts): no module name built from a string, nothing registered as an import side effect.
 */
export type TaskTable = Readonly<Record<string, TaskDefinition | (() => Promise<TaskDefinition>)>>;

/** The task `name` of `table`; an unknown name is an error that lists the known ones. */
export async function pickTask(table: TaskTable, name: string): Promise<TaskDefinition> {
  if (!Object.prototype.hasOwnProperty.call(table, name)) {
    const known = Object.keys(table);
    throw new Error(`unknown task '${name}'${didYouMean(name, known)}; known tasks: ${known.join(', ') || '(none)'}`);
  }
  const entry = table[name];
  return typeof entry === 'function' ? entry() : entry;
}

/**
 * A task's definition as a table entry. The engine only hands a model the batches made by the same task's
 * dataset and collate, so forgetting the model and batch types here is safe; this is the one place it happens.
 */
export function taskEntry<M extends TrainableModel<B>, B extends Batch>(def: TaskDefinition<M, B>): TaskDefinition {
  return def as unknown as TaskDefinition;
}
