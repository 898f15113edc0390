import type { TaskDefinition, TrainableModel } from './types';
import type { Batch } from '../data/types';
import { didYouMean } from '../utils/suggest';

const tasks = new Map<string, TaskDefinition>();

/** Called by a task package on import. Registering the same name twice is an error (two copies loaded). */
export function registerTask<M extends TrainableModel<B>, B extends Batch>(def: TaskDefinition<M, B>): void {
  if (tasks.has(def.name)) throw new Error(`task '${def.name}' is already registered`);
  tasks.set(def.name, def as unknown as TaskDefinition);
}

export function getTask(name: string): TaskDefinition {
  const t = tasks.get(name);
  if (!t) {
    throw new Error(`unknown task '${name}'${didYouMean(name, tasks.keys())}; registered: ${[...tasks.keys()].join(', ') || '(none: import the task package first)'}`);
  }
  return t;
}

export function taskNames(): string[] {
  return [...tasks.keys()];
}
