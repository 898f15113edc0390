export * from './backend';
export * from './native';
export { FUSED_KERNEL_NAMES, fusedGelu, fusedLayerNorm, registerFusedGradients } from './fused_ops';
