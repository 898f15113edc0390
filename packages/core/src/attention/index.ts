export * from './hilo';
