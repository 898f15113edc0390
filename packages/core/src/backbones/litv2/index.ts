// The LITv2 family (universal parts). Checkpoint conversion and fixture parity are Node-only: ../../node.ts.
export * from './blocks';
export * from './base';
export * from './classifier';
export * from './backbone';
export * from './presets';
export * from './flops';
export * from './register';
