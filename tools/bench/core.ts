import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativePoolStats, parseArgs, toolFlags } from '@litv2/core/node';
import { benchmarkKernels } from './kernels';
import { benchmarkLITv2, type BenchRecord } from './litv2';
import { benchmarkAttention } from './attention';
import { loadAvg, peakRssMiB } from './timing';

export interface CoreBenchArgs {
  /** Backends to run, each in its own process: native, wasm, cpu. */
  backends: string[];
  /** Native thread counts to compare (LITV2_NUM_THREADS per run). */
  threads: number[];
  sections: string[];
  /** Runs the slow pure-JS cpu backend at batch 8 and the train step too (minutes). */
  full: boolean;
  /** Skips the "before" (pure-JS kernel) measurements of the kernel table. */
  noBefore: boolean;
  outDir: string;
}

const CORE_USAGE = '[--task core] [--backends native,wasm,cpu,webgpu] [--threads 1,2] [--sections kernels,litv2,attention] [--no-before] [--full] [--out-dir DIR]';

export function parseCoreArgs(argv: string[]): CoreBenchArgs {
  const f = toolFlags(parseArgs(argv), { allowed: ['backends', 'threads', 'sections', 'full', 'no-before', 'out-dir'], usage: CORE_USAGE });
  const list = (k: string, d: string) => (f.string(k) ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  const args: CoreBenchArgs = {
    backends: list('backends', 'native,wasm,cpu'),
    threads: list('threads', process.env.LITV2_NUM_THREADS ?? '1,2').map(Number),
    sections: list('sections', 'kernels,litv2,attention'),
    full: f.bool('full'),
    noBefore: f.bool('no-before'),
    outDir: f.string('out-dir') ?? 'work_dirs/benchmark',
  };
  for (const b of args.backends) if (!['native', 'wasm', 'cpu', 'webgpu'].includes(b)) f.fail(`--backends: unknown backend '${b}' (native, wasm, cpu, webgpu)`);
  for (const s of args.sections) if (!['kernels', 'litv2', 'attention'].includes(s)) f.fail(`--sections: unknown section '${s}' (kernels, litv2, attention)`);
  if (args.threads.some((t) => !Number.isInteger(t) || t < 1)) f.fail('--threads: positive integers, e.g. 1,2');
  return args;
}

export interface WorkerSpec {
  backend: string;
  sections: string[];
  full: boolean;
  noBefore: boolean;
}

/**
 * Runs inside one process on one backend; returns a flat record. `save` is called after each section so a
 * backend that aborts the process (wasm) still leaves what it measured.
 */
export async function runBenchWorker(spec: WorkerSpec, log: (s: string) => void, save: (rec: BenchRecord) => void = () => undefined): Promise<BenchRecord> {
  const info = await initBackend({ backend: spec.backend, quiet: true });
  const rec: BenchRecord = { backend: info.description, tf_backend: tf.getBackend() };
  log(`[${spec.backend}] ${info.description}`);
  // The pure-JS cpu backend and webgpu on a software rasteriser (Mesa llvmpipe, SwiftShader) take minutes per
  // batch-8 step: batch 1 only unless --full.
  const software = /llvmpipe|lavapipe|swiftshader/i.test(info.description);
  const slow = (spec.backend === 'cpu' || (spec.backend === 'webgpu' && software)) && !spec.full;
  if (spec.sections.includes('kernels') && info.nativeKernels) {
    log('  kernel                                                    before ->  after (pure-JS tfjs cpu -> native)');
    const ks = await benchmarkKernels({ before: !spec.noBefore, log });
    ks.forEach((k) => {
      rec[`kernel.${k.name}.before`] = k.before;
      rec[`kernel.${k.name}.after`] = k.after;
      rec[`kernel.${k.name}.before_cpu`] = k.before_cpu;
      rec[`kernel.${k.name}.after_cpu`] = k.after_cpu;
      rec[`kernel.${k.name}.unit`] = k.unit;
    });
  }
  if (spec.sections.includes('litv2')) {
    const evalBatches = slow ? [1] : [1, 8];
    try {
      Object.assign(rec, await benchmarkLITv2({ evalBatches, trainBatch: slow ? null : 8, runs: slow ? 1 : 5, log }));
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      log(`  litv2 failed: ${msg}`);
      rec['litv2_s.error'] = msg;
    }
    if (slow) rec['litv2_s.note'] = `${spec.backend === 'cpu' ? 'pure-JS cpu' : 'webgpu on a software adapter'}: eval batch 1 only (batch 8 and training take many minutes; --full runs them)`;
  }
  save(rec);
  // An aborted wasm runtime cannot run anything else.
  const aborted = Object.values(rec).some((v) => typeof v === 'string' && v.startsWith('Aborted('));
  if (spec.sections.includes('attention') && !slow && !aborted) {
    log('  attention layer, 384 ch, 12 heads, forward (batch 1):');
    Object.assign(rec, await benchmarkAttention({ log }));
    save(rec);
  }
  if (info.nativeKernels) {
    const p = nativePoolStats();
    rec['native.pool_hits'] = p.hits;
    rec['native.pool_misses'] = p.misses;
  }
  rec.peak_rss_mib = peakRssMiB();
  log(`  peak RSS ${rec.peak_rss_mib} MiB`);
  return rec;
}

/**
 * The core benchmark: one child process per backend (and native thread count), merged into one JSON file
 * `work_dirs/benchmark/<date-time>.json`. Top-level `litv2_s.*` keys come from the first native run.
 */
export function runCoreBenchmark(args: CoreBenchArgs, script: string, log: (s: string) => void): { file: string; result: Record<string, unknown> } {
  const runs: { name: string; backend: string; threads: number; sections: string[] }[] = [];
  const model = args.sections.filter((x) => x !== 'kernels');
  // The kernel table runs in a process of its own so its buffers do not weigh on the model runs.
  if (args.sections.includes('kernels') && args.backends.includes('native')) {
    runs.push({ name: 'kernels', backend: 'native', threads: args.threads[0], sections: ['kernels'] });
  }
  if (model.length) {
    for (const b of args.backends) {
      if (b === 'native') for (const t of args.threads) runs.push({ name: args.threads.length > 1 ? `native_t${t}` : 'native', backend: b, threads: t, sections: model });
      else runs.push({ name: b, backend: b, threads: 1, sections: model });
    }
  }
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_start: loadAvg() },
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-bench-'));
  for (const r of runs) {
    const out = path.join(tmp, `${r.name}.json`);
    const spec: WorkerSpec = { backend: r.backend, sections: r.sections, full: args.full, noBefore: args.noBefore };
    const env = { ...process.env, LITV2_NUM_THREADS: String(r.threads), LITV2_QUIET_BACKEND: '1' };
    log(`--- ${r.name} (load ${loadAvg().join(' ')})`);
    const p = spawnSync(process.execPath, [...process.execArgv, script, '--worker', JSON.stringify(spec), '--worker-out', out], { stdio: 'inherit', env });
    if (!fs.existsSync(out)) {
      result[r.name] = { error: `worker exited with ${p.status ?? p.signal}` };
      continue;
    }
    const rec = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchRecord;
    rec.threads = r.threads;
    if (p.status !== 0) rec.worker_exit = `exited with ${p.status ?? p.signal} after the sections recorded here`;
    result[r.name] = rec;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const ok = (r: BenchRecord | undefined): r is BenchRecord => !!r && !('error' in r && Object.keys(r).length === 1);
  const primary = runs.filter((r) => r.name !== 'kernels').map((r) => result[r.name] as BenchRecord | undefined).find(ok) ?? (result.kernels as BenchRecord | undefined);
  if (primary) {
    result.backend = primary.backend;
    for (const [k, v] of Object.entries(primary)) if (k.startsWith('litv2_') || k.startsWith('attention.')) result[k] = v;
  }
  (result.host as Record<string, unknown>).loadavg_end = loadAvg();
  fs.mkdirSync(args.outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  const file = path.join(args.outDir, `${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  return { file, result };
}
