// Universal: the backend-neutral fused ops. Backend selection and the native add-on are Node-only: ../node.ts.
export { FUSED_KERNEL_NAMES, fusedGelu, fusedLayerNorm, registerFusedGradients } from './fused_ops';
