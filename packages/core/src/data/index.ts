export * from './types';
export * from './rng';
export * from './collate';
export * from './dataloader';
