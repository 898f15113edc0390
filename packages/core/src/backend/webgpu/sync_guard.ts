import * as tf from '@tensorflow/tfjs';

/**
 * Fails on synchronous reads on the current backend. In a browser a GPU backend can only read back
 * asynchronously (WebGPU has no blocking map), so model code must use `await t.data()` everywhere on the
 * training and inference paths. Tests turn the guard on while running forward passes and a training step on
 * the webgpu backend; any `dataSync` / `arraySync` / `bufferSync` throws naming the op that asked.
 */
export function guardSyncReads(): () => void {
  type Stored = { values?: unknown } | undefined;
  const backend = tf.backend() as unknown as { readSync: (id: object) => unknown; tensorMap?: { get(id: object): Stored } };
  const original = backend.readSync;
  backend.readSync = function guarded(this: typeof backend, dataId: object): unknown {
    // Data still held on the CPU side (small uploads the backend hands to its CPU kernels) reads without the
    // GPU, in a page too: only a GPU readback is an error.
    if (this.tensorMap?.get(dataId)?.values != null) return original.call(this, dataId);
    const site =
      new Error().stack
        ?.split('\n')
        .slice(2)
        .find((l) => !/node_modules|tfjs-(core|backend)|sync_guard/.test(l))
        ?.trim() ?? 'unknown caller';
    throw new Error(`synchronous tensor read on the ${tf.getBackend()} backend (use await t.data()): ${site}`);
  };
  return () => {
    backend.readSync = original;
  };
}
