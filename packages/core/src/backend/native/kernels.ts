import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { setNativeKernelProvider } from '../backend';
import { loadNativeAddon, type NativeAddon } from './addon';
import type { KernelFn, NativeContext } from './util';
import { convPoolingKernels } from './conv_pooling';
import { eltwiseKernels } from './eltwise';
import { layoutKernels } from './layout';
import { OutputBufferPool } from './output_buffers';
import { fusedKernels } from './fused';
import { registerFusedGradients } from '../fused_ops';

export { loadNativeAddon, findNativeAddon, NATIVE_ADDON_RELPATH, type NativeAddon } from './addon';

const BACKEND = 'cpu';
/** Original cpu kernels we replaced, by name (restored by `unregisterNativeKernels`). */
const originals = new Map<string, tf.KernelConfig>();
/**
 * Output buffers of the native kernels, recycled after disposal. The cap is LITV2_NATIVE_POOL_MB, default
 * 1/16 of the RAM up to 1 GiB: a larger pool fills with the whole backward working set at the end of a training
 * step, and at the next forward's peak it still holds the buffers of sizes the forward does not ask for
 * (RetinaNet S ws4, 1333×800 batch 2: peak RSS 13.8 GB with a 16 GiB cap, 10.4 GB with 1 GiB, ~7% slower).
 */
const outputBuffers = new OutputBufferPool((Number(process.env.LITV2_NATIVE_POOL_MB) || Math.min(1024, os.totalmem() / 2 ** 24)) * 2 ** 20);

function nativeKernelTable(addon: NativeAddon): Record<string, KernelFn> {
  const ctx: NativeContext = {
    addon,
    buffers: outputBuffers,
    original(name) {
      const k = originals.get(name) ?? tf.getKernel(name, BACKEND);
      if (!k) throw new Error(`native kernels: no original ${BACKEND} kernel ${name}`);
      return k.kernelFunc as unknown as KernelFn;
    },
  };
  return { ...convPoolingKernels(ctx), ...eltwiseKernels(ctx), ...layoutKernels(ctx) };
}

/** Kernels of our own (fused GELU / LayerNorm) added to the cpu backend; removed again on unregister. */
const added = new Set<string>();

/** Names of the tfjs kernels the add-on replaces on the cpu backend. */
export function nativeKernelNames(): string[] {
  const r = loadNativeAddon();
  return 'addon' in r ? Object.keys(nativeKernelTable(r.addon)).filter((n) => tf.getKernel(n, BACKEND) || originals.has(n)) : [];
}

export function nativeKernelsRegistered(): boolean {
  return originals.size > 0;
}

/**
 * The thread count: `LITV2_NUM_THREADS`, else 1. Measured on the 2-vCPU box (LITv2-S, bs8): with the machine
 * nearly idle 2 threads gave eval 18.0 vs 10.7 img/s and train 5.35 vs 3.3 img/s, but with other processes
 * running (load 5-6) 2 threads fell to eval 7.6 / train 2.2 while 1 thread held 11.5 / 3.7. One thread is the
 * predictable default on a shared machine; set LITV2_NUM_THREADS=2 (or more) on an idle one.
 */
function threadCount(): number {
  const n = Number.parseInt(process.env.LITV2_NUM_THREADS ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/**
 * Replaces the cpu backend's hot kernels by the add-on's. Idempotent. Returns the reason when the add-on is
 * missing (not built, or libopenblas absent at load time).
 */
export function registerNativeKernels(): { ok: true; description: string; kernels: string[] } | { ok: false; reason: string } {
  const r = loadNativeAddon();
  if (!('addon' in r)) return { ok: false, reason: r.error };
  const addon = r.addon;
  addon.setNumThreads(threadCount());
  if (originals.size === 0) {
    const backend = tf.findBackend(BACKEND);
    if (!backend) return { ok: false, reason: 'the tfjs cpu backend is not registered' };
    outputBuffers.install(backend);
    for (const [name, fn] of Object.entries(nativeKernelTable(addon))) {
      const orig = tf.getKernel(name, BACKEND);
      if (!orig) continue;
      originals.set(name, orig);
      tf.unregisterKernel(name, BACKEND);
      tf.registerKernel({ ...orig, kernelFunc: fn as unknown as tf.KernelFunc });
    }
    registerFusedGradients();
    for (const [name, fn] of Object.entries(fusedKernels({ addon, buffers: outputBuffers, original: () => { throw new Error(`native kernels: ${name} has no tfjs original`); } }))) {
      if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
      tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: fn as unknown as tf.KernelFunc });
      added.add(name);
    }
  }
  const blas = addon.blasConfig().split(' ').slice(0, 2).join(' ');
  return { ok: true, description: `${blas}, ${addon.numThreads()} thread(s), ${originals.size} kernels + ${added.size} fused`, kernels: [...originals.keys()] };
}

/** Restores the original tfjs cpu kernels (for comparisons and `LITV2_BACKEND=cpu` in one process). */
export function unregisterNativeKernels(): void {
  for (const [name, orig] of originals) {
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel(orig);
  }
  originals.clear();
  for (const name of added) tf.unregisterKernel(name, BACKEND);
  added.clear();
  outputBuffers.uninstall();
}

/** Reuse statistics of the output-buffer pool. */
export function nativePoolStats(): { hits: number; misses: number; pooledMB: number; trackedBuffers: number } {
  return outputBuffers.stats();
}

/** Sets the native thread count at run time (OpenBLAS and the add-on's own loops). */
export function setNativeThreads(n: number): void {
  const r = loadNativeAddon();
  if ('addon' in r) r.addon.setNumThreads(n);
}

setNativeKernelProvider({
  register(tfBackend) {
    if (tfBackend !== BACKEND) return { ok: false, reason: `native kernels only extend the cpu backend, not ${tfBackend}` };
    const r = registerNativeKernels();
    return r.ok ? { ok: true, description: r.description } : r;
  },
});
