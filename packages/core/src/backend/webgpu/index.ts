export { setupWebGpu, dawnArgs, type WebGpuSetup } from './setup';
export { guardSyncReads } from './sync_guard';
