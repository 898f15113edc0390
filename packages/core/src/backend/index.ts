export * from './backend';
export * from './native';
export { fusedGelu, fusedLayerNorm } from './native_fused';
