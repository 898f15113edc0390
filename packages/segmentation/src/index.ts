export * from './ops/resize';
export * from './models';
export * from './analysis';
