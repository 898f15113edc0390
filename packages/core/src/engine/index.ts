export * from './types';
export * from './task_registry';
export * from './optimizer';
export * from './lr_schedule';
export * from './hooks';
export * from './runner';
