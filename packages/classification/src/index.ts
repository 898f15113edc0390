export * from './models';
export * from './data';
export * from './task';
export * from './predict';
