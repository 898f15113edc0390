export * from './flops';
