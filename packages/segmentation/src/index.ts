export * from './ops/resize';
export * from './models';
export * from './analysis';
export * from './data';
export * from './task';
