export * from './module';
export * from './layout';
export * from './layers';
export * from './init';
export * from './random';
export * from './conv_module';
export * from './backprop';
export * as lean from './lean_ops';
export * from './flops';
