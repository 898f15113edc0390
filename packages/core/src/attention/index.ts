export * from './hilo';
export * from './trunc_linear';
export * from './mha';
export * from './msa';
export * from './window_attention';
export * from './sra';
