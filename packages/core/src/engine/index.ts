// Universal: the TaskDefinition contract, optimizers and LR schedules. The Runner, hooks and CLIs: ../node.ts.
export * from './types';
export * from './optimizer';
export * from './lr_schedule';
export * from './task_table';
