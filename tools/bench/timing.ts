import * as os from 'node:os';

export interface Timing {
  /** Median wall time of the measured runs, seconds. */
  median_s: number;
  min_s: number;
  runs: number;
  /** Process CPU seconds per run (user + system): shows contention when well below wall time x threads. */
  cpu_s: number;
}

/** Runs `fn` `warmup` times, then `runs` times, returning wall-time statistics. */
export async function timeIt(fn: () => void | Promise<void>, runs: number, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; ++i) await fn();
  const times: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; ++i) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  const c = process.cpuUsage(c0);
  times.sort((a, b) => a - b);
  return { median_s: times[Math.floor(times.length / 2)], min_s: times[0], runs, cpu_s: (c.user + c.system) / 1e6 / runs };
}

export const loadAvg = (): number[] => os.loadavg().map((v) => Math.round(v * 100) / 100);
/** Peak resident set size of this process so far, MiB. */
export const peakRssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
export const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;
