import * as tf from '@tensorflow/tfjs';

export interface KernelStat {
  name: string;
  calls: number;
  ms: number;
}

/**
 * Wraps every kernel currently registered for `backend` with a wall-clock timer while `fn` runs, then restores
 * them. Kernels that call other kernels through the registry count in both (the cpu backend rarely does).
 */
export async function profileKernels(fn: () => Promise<void> | void, backend = 'cpu'): Promise<KernelStat[]> {
  const stats = new Map<string, KernelStat>();
  const configs = tf.getKernelsForBackend(backend);
  for (const cfg of configs) {
    const inner = cfg.kernelFunc;
    const stat: KernelStat = { name: cfg.kernelName, calls: 0, ms: 0 };
    stats.set(cfg.kernelName, stat);
    tf.unregisterKernel(cfg.kernelName, backend);
    tf.registerKernel({
      ...cfg,
      kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
        const t0 = performance.now();
        const r = inner(args);
        stat.ms += performance.now() - t0;
        stat.calls++;
        return r;
      }) as tf.KernelFunc,
    });
  }
  try {
    await fn();
  } finally {
    for (const cfg of configs) {
      tf.unregisterKernel(cfg.kernelName, backend);
      tf.registerKernel(cfg);
    }
  }
  return [...stats.values()].filter((s) => s.calls > 0).sort((a, b) => b.ms - a.ms);
}

export function formatKernelStats(stats: KernelStat[], top = 25): string {
  const total = stats.reduce((a, s) => a + s.ms, 0);
  const lines = stats.slice(0, top).map((s) => `  ${s.name.padEnd(36)} ${s.calls.toString().padStart(6)} calls ${s.ms.toFixed(1).padStart(9)} ms ${((100 * s.ms) / total).toFixed(1).padStart(5)} %`);
  return [`  kernels total ${total.toFixed(1)} ms`, ...lines].join('\n');
}
