/**
 * `nx run core:benchmark` — speed of the tensor backends on this machine.
 *   --task core (default): kernel GFLOP/s before/after the native kernels, LITv2-S img/s (eval bs1/bs8, train
 *   step bs8 with AdamW) per backend, HiLo vs MSA / window attention / SRA. Options: --backends native,wasm,cpu
 *   --threads 1,2 --sections kernels,litv2,attention --no-before --full --out-dir DIR.
 * Task packages add their own `--task detection|segmentation` branch in TASKS below.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCoreArgs, runBenchWorker, runCoreBenchmark, type WorkerSpec } from './bench/core';

const argv = process.argv.slice(2);
const log = (s: string) => console.log(s);
const script = fileURLToPath(import.meta.url);

const workerAt = argv.indexOf('--worker');
if (workerAt >= 0) {
  const spec = JSON.parse(argv[workerAt + 1]) as WorkerSpec;
  const out = argv[argv.indexOf('--worker-out') + 1];
  const save = (r: object) => fs.writeFileSync(out, JSON.stringify(r));
  save(await runBenchWorker(spec, log, save));
  process.exit(0);
}

const TASKS: Record<string, () => Promise<void>> = {
  core: async () => {
    const { file, result } = runCoreBenchmark(parseCoreArgs(argv), script, log);
    log(`\nbackend: ${String(result.backend)}`);
    for (const k of Object.keys(result).filter((k) => /^litv2_s\.(eval|train)_bs\d+_img_s$/.test(k))) log(`${k} = ${String(result[k])}`);
    log(`wrote ${file}`);
  },
};

const ti = argv.indexOf('--task');
const task = ti >= 0 ? argv[ti + 1] : 'core';
const run = TASKS[task];
if (!run) {
  console.error(`benchmark: unknown --task '${task}' (known: ${Object.keys(TASKS).join(', ')})`);
  process.exit(2);
}
await run();
