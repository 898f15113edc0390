/**
 * Memory soak of training (nx `core:soak`): trains the synthetic RetinaNet for many iterations and samples
 * process memory, to catch native growth that the JS heap and the tfjs tensor count do not show.
 *   npx tsx tools/bench/soak.ts [--iters 2000] [--sample-every 25] [--warmup 0.2] [--config retinanet_litv2_tiny_synthetic]
 *     [--eval-every N] [--cfg-options k=v ...] [--json FILE]
 * --eval-every N also runs the validation set every N iterations (inference reads large tensors with dataSync,
 * the path that used to leak pooled buffers); without it the run only trains.
 * Prints RSS, heap, ArrayBuffer bytes, native pool bytes and tensor count per sample, then the least-squares
 * slope of each per 1,000 iterations over the samples after the warm-up fraction (goal for RSS: < 1 MB).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativePoolStats, parseArgs, pickTask, reportToolError, runTraining, toolFlags, type Hook } from '@litv2/core/node';
import { repoRoot, toolDeps } from '../task_table';

const USAGE = 'soak [--iters 2000] [--sample-every 25] [--warmup 0.2] [--eval-every N] [--config NAME] [--cfg-options k=v ...] [--json FILE]';

interface Sample {
  iter: number;
  rssMB: number;
  heapMB: number;
  arrayBuffersMB: number;
  poolMB: number;
  tensors: number;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

async function main(): Promise<number> {
  const f = toolFlags(parseArgs(process.argv.slice(2)), { allowed: ['iters', 'sample-every', 'warmup', 'eval-every', 'config', 'cfg-options', 'json'], usage: USAGE });
  const iters = f.number('iters', 2000, { integer: true, min: 10 });
  const every = f.number('sample-every', 25, { integer: true, min: 1 });
  const warmup = f.number('warmup', 0.2, { min: 0 });
  if (warmup >= 1) f.fail('--warmup is a fraction of the run, below 1');
  const config = f.string('config') ?? 'retinanet_litv2_tiny_synthetic';
  const jsonOut = f.string('json');
  const evalEvery = f.number('eval-every', undefined, { integer: true, min: 1 });
  const info = await initBackend();
  const deps = toolDeps();
  const detectionTask = await pickTask(deps.tasks, 'detection');
  const loaded = deps.loadConfig(config, {
    cfgOptions: [`runner.type=IterBasedRunner`, `runner.max_iters=${iters}`, 'runner.max_epochs=null', `checkpoint_config.interval=${iters * 10}`, `log_config.interval=${Math.max(every * 4, 100)}`,
      ...(evalEvery ? [`evaluation.interval=${evalEvery}`, 'evaluation.by_epoch=false'] : []), ...f.cfgOptions],
  });
  const runner = loaded.cfg.runner as Record<string, unknown>;
  delete runner.max_epochs;
  const samples: Sample[] = [];
  const mb = (b: number) => b / 2 ** 20;
  const take = (iter: number) => {
    const m = process.memoryUsage();
    samples.push({ iter, rssMB: mb(m.rss), heapMB: mb(m.heapUsed), arrayBuffersMB: mb(m.arrayBuffers), poolMB: nativePoolStats().pooledMB, tensors: tf.memory().numTensors });
    const s = samples[samples.length - 1];
    console.log(`iter ${String(iter).padStart(5)}  rss ${s.rssMB.toFixed(1)} MB  heap ${s.heapMB.toFixed(1)} MB  arrayBuffers ${s.arrayBuffersMB.toFixed(1)} MB  pool ${s.poolMB.toFixed(1)} MB  tensors ${s.tensors}`);
  };
  // Priority 90: after the evaluation hook (60), so a sample at an evaluation iteration includes it.
  const sampler: Hook = { name: 'soak', priority: 90, afterIter: (r) => void (r.iter % every === 0 && take(r.iter)) };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-soak-'));
  const t0 = Date.now();
  try {
    await runTraining({
      task: detectionTask,
      cfg: loaded.cfg,
      configFile: loaded.file,
      configName: loaded.name,
      repoRoot,
      workDir,
      noValidate: !evalEvery,
      checkpointIO: deps.checkpointIO,
      loadWeights: deps.loadWeights,
      hooks: [sampler],
      log: (l) => (/^Iter /.test(l) ? console.log(l.slice(0, 120)) : console.log(l)),
      progressBar: false,
    });
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const after = samples.filter((s) => s.iter > warmup * iters);
  const xs = after.map((s) => s.iter / 1000);
  const per1k = (k: keyof Sample) => slope(xs, after.map((s) => s[k]));
  const result = {
    config,
    backend: info.description,
    iters,
    seconds: (Date.now() - t0) / 1000,
    samplesAfterWarmup: after.length,
    rssMBPer1kIters: per1k('rssMB'),
    heapMBPer1kIters: per1k('heapMB'),
    arrayBuffersMBPer1kIters: per1k('arrayBuffersMB'),
    poolMBPer1kIters: per1k('poolMB'),
    tensorsPer1kIters: per1k('tensors'),
    samples,
  };
  console.log(
    `slope per 1,000 iterations after ${(warmup * 100).toFixed(0)}% warm-up (${after.length} samples, ${result.seconds.toFixed(0)} s): ` +
      `RSS ${result.rssMBPer1kIters.toFixed(2)} MB, heap ${result.heapMBPer1kIters.toFixed(2)} MB, arrayBuffers ${result.arrayBuffersMBPer1kIters.toFixed(2)} MB, ` +
      `pool ${result.poolMBPer1kIters.toFixed(2)} MB, tensors ${result.tensorsPer1kIters.toFixed(1)}`,
  );
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
  return 0;
}

let code: number;
try {
  code = await main();
} catch (e) {
  code = reportToolError('soak', e);
}
process.exit(code);
