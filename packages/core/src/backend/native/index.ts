export * from './kernels';
