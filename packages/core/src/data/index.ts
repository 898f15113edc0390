export * from './types';
export * from './rng';
export * from './collate';
export * from './dataloader';
export * from './image';
export * from './resize';
export * from './pipeline';
export * from './transforms';
