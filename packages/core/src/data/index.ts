// Universal: sample types, RNG, collate, DataLoader, pipelines, geometric / photometric transforms.
// Image decoding, file-loading transforms and the synthetic dataset writer are Node-only: ../node.ts.
export * from './types';
export * from './rng';
export * from './collate';
export * from './dataloader';
export * from './resize';
export * from './pipeline';
export * from './transforms';
