import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { setupWebGpu } from './webgpu/setup';

/** Names accepted by `LITV2_BACKEND` and `initBackend({ backend })`. */
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** What was requested (env, option or 'auto'). */
  requested: string;
  /** The tfjs backend name that runs (`tensorflow`, `webgpu`, `cpu`, `wasm`). */
  tfBackend: string;
  /** Human description, printed once. */
  description: string;
  /** Fast native CPU kernels were registered on top of the tfjs backend. */
  nativeKernels: boolean;
}

/** Hook through which the fast-CPU add-on registers its kernels; set by `native/` when it is built. */
export interface NativeKernelProvider {
  /** Registers kernels for `tfBackend`; returns false (with a reason) when the add-on is unavailable. */
  register(tfBackend: string): { ok: true; description: string } | { ok: false; reason: string };
}

let nativeProvider: NativeKernelProvider | undefined;
export function setNativeKernelProvider(p: NativeKernelProvider): void {
  nativeProvider = p;
}

const req = createRequire(process.cwd() + '/');
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

function tryRequire(name: string): boolean {
  try {
    req(name);
    return true;
  } catch {
    return false;
  }
}

async function select(requested: string): Promise<BackendInfo> {
  const want = requested.toLowerCase();
  const auto = want === 'auto' || want === '';
  if (auto || want === 'tensorflow-gpu' || want === 'gpu') {
    if (tryRequire('@tensorflow/tfjs-node-gpu') && (await tf.setBackend('tensorflow'))) {
      return { requested, tfBackend: 'tensorflow', description: 'tfjs-node-gpu (libtensorflow, CUDA)', nativeKernels: false };
    }
    if (!auto) throw new Error(`LITV2_BACKEND=${requested}: @tensorflow/tfjs-node-gpu is not installed or failed to load`);
  }
  // WebGPU through Dawn. Automatic selection tries it only where an NVIDIA device node exists (Vulkan, a real
  // GPU): on CPU-only machines Dawn's GL ES path over llvmpipe works but is far slower than the native kernels.
  if (want === 'webgpu' || (auto && fs.existsSync('/dev/nvidiactl') && tryRequire('webgpu'))) {
    try {
      const gpu = await setupWebGpu(auto && !process.env.LITV2_DAWN_ARGS ? ['backend=vulkan'] : undefined);
      return { requested, tfBackend: 'webgpu', description: `webgpu (Dawn ${gpu.dawnArgs.join(' ')}; ${gpu.adapter})`, nativeKernels: false };
    } catch (e) {
      if (!auto) throw e;
      console.warn(`[litv2] webgpu unavailable (${(e as Error).message.split('\n')[0]}); trying the next backend`);
    }
  }
  if (auto || want === 'tensorflow' || want === 'node') {
    if (tryRequire('@tensorflow/tfjs-node') && (await tf.setBackend('tensorflow'))) {
      return { requested, tfBackend: 'tensorflow', description: 'tfjs-node (libtensorflow, CPU)', nativeKernels: false };
    }
    if (!auto) throw new Error(`LITV2_BACKEND=${requested}: @tensorflow/tfjs-node is not installed or failed to load`);
  }
  if (want === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('LITV2_BACKEND=wasm: the wasm backend failed to initialise');
    return { requested, tfBackend: 'wasm', description: 'tfjs wasm (SIMD, 1 thread)', nativeKernels: false };
  }
  if (auto || want === 'native' || want === 'cpu') {
    await tf.setBackend('cpu');
    // The cpu backend nags once about tfjs-node; our selection already tried it and says what runs.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    if (want !== 'cpu' && nativeProvider) {
      const r = nativeProvider.register('cpu');
      if (r.ok) return { requested, tfBackend: 'cpu', description: `cpu + native kernels (${r.description})`, nativeKernels: true };
      if (want === 'native') throw new Error(`LITV2_BACKEND=native: ${r.reason}`);
      console.warn(`[litv2] native CPU kernels unavailable (${r.reason}); using the plain JS cpu backend (slow)`);
    }
    return { requested, tfBackend: 'cpu', description: 'tfjs cpu (pure JS)', nativeKernels: false };
  }
  throw new Error(`LITV2_BACKEND=${requested}: unknown backend (expected one of tensorflow-gpu, webgpu, tensorflow, native, wasm, cpu)`);
}

/**
 * Chooses the tensor backend once per process: tfjs-node-gpu, then webgpu (Dawn; only where an NVIDIA device
 * exists), then tfjs-node, then the cpu backend
 * with native kernels (plain cpu when they are not built). `LITV2_BACKEND` forces a choice.
 */
export function initBackend(opts: { backend?: string; quiet?: boolean } = {}): Promise<BackendInfo> {
  if (current) return Promise.resolve(current);
  if (!pending) {
    const requested = opts.backend ?? process.env.LITV2_BACKEND ?? 'auto';
    pending = select(requested).then((info) => {
      current = info;
      if (!opts.quiet && !process.env.LITV2_QUIET_BACKEND) console.error(`[litv2] backend: ${info.description}`);
      return info;
    });
  }
  return pending;
}

/** The backend chosen by `initBackend`, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}
