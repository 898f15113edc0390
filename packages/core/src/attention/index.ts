export * from './hilo';
export * from './trunc_linear';
