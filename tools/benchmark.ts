/**
 * Speed benchmarks: `npx tsx tools/benchmark.ts --task <core|detection|segmentation> ...` (default core).
 *   --task core (nx `core:benchmark`): kernel GFLOP/s before/after the native kernels, LITv2-S img/s (eval
 *   bs1/bs8, train step bs8 with AdamW) per backend, HiLo vs MSA / window attention / SRA. Options:
 *   --backends native,wasm,cpu --threads 1,2 --sections kernels,litv2,attention --no-before --full --out-dir DIR.
 *   --task detection (nx `detection:benchmark`): tools/bench/detection.ts.
 *   --task segmentation (nx `segmentation:benchmark`): tools/bench/segmentation.ts.
 *   --task classification (nx `classification:benchmark`): tools/bench/classification.ts.
 * `--task` is taken out here. Exit status: 0 ok, 2 usage error, 1 runtime error (`LITV2_DEBUG=1` prints the stack).
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reportToolError, splitTask, wantsHelp } from '@litv2/core/node';
import { parseCoreArgs, runBenchWorker, runCoreBenchmark, type WorkerSpec } from './bench/core';

const argv = process.argv.slice(2);
const log = (s: string) => console.log(s);
const script = fileURLToPath(import.meta.url);

// A child process of the core benchmark (one backend each), started by runCoreBenchmark.
const workerAt = argv.indexOf('--worker');
if (workerAt >= 0) {
  const spec = JSON.parse(argv[workerAt + 1]) as WorkerSpec;
  const out = argv[argv.indexOf('--worker-out') + 1];
  const save = (r: object) => fs.writeFileSync(out, JSON.stringify(r));
  save(await runBenchWorker(spec, log, save));
  process.exit(0);
}

const TASKS: Record<string, (argv: string[]) => Promise<number>> = {
  core: async (args) => {
    const { file, result } = runCoreBenchmark(parseCoreArgs(args), script, log);
    log(`\nbackend: ${String(result.backend)}`);
    for (const k of Object.keys(result).filter((k) => /^litv2_s\.(eval|train)_bs\d+_img_s$/.test(k))) log(`${k} = ${String(result[k])}`);
    log(`wrote ${file}`);
    return 0;
  },
  detection: async (args) => (await import('./bench/detection')).main(args),
  segmentation: async (args) => (await import('./bench/segmentation')).main(args),
  classification: async (args) => (await import('./bench/classification')).main(args),
};

async function run(): Promise<number> {
  const { task = 'core', rest } = splitTask(argv);
  if (wantsHelp(argv) && !argv.some((a) => a === '--task' || a.startsWith('--task='))) {
    console.log('usage: benchmark [--task core|detection|segmentation|classification] [task options]; `--task T --help` lists the options of T');
    return 0;
  }
  const bench = TASKS[task];
  if (!bench) {
    console.error(`benchmark: unknown --task '${task}' (known: ${Object.keys(TASKS).join(', ')})`);
    return 2;
  }
  return bench(rest);
}

let code: number;
try {
  code = await run();
} catch (e) {
  code = reportToolError('benchmark', e);
}
process.exit(code);
