/**
 * Forward-pass timing of the LITv2 classifier (eval mode, random weights and input):
 *   npx tsx tools/speed-litv2.ts [--size s|m|b] [--batch 1,8] [--img 224] [--warmup 1] [--runs 3]
 * Honours LITV2_BACKEND (cpu, native, wasm, ...). Prints the median wall time per batch and images/s.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { LITv2, litv2Preset, type LITv2Size } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log('usage: speed-litv2 [--size s|m|b] [--batch 1,8] [--img 224] [--warmup 1] [--runs 3]');
  process.exit(0);
}
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const size = opt('size', 's') as LITv2Size;
if (!['s', 'm', 'b'].includes(size)) {
  console.error(`speed-litv2: --size must be s, m or b (got '${size}')`);
  process.exit(2);
}
const batches = opt('batch', '1,8').split(',').map(Number);
const img = Number(opt('img', '224'));
const warmup = Number(opt('warmup', '1'));
const runs = Number(opt('runs', '3'));

const info = await initBackend();
const model = new LITv2({ ...litv2Preset(size), img_size: img }, { init: false }).eval();
console.log(`LITv2-${size.toUpperCase()} @${img}, backend: ${info.description}, ${os.cpus().length} CPUs, load avg ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const b of batches) {
  const x = tf.randomNormal([b, img, img, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const y = model.forward(x);
    y.dataSync();
    y.dispose();
    const c = process.cpuUsage(c0);
    if (i >= warmup) {
      times.push((performance.now() - t0) / 1000);
      cpu.push((c.user + c.system) / 1e6);
    }
  }
  cpu.sort((a, c) => a - c);
  x.dispose();
  times.sort((a, c) => a - c);
  const med = times[Math.floor(times.length / 2)];
  // CPU time of this process is reported too: on a shared machine it is far less noisy than wall time.
  const cmed = cpu[Math.floor(cpu.length / 2)];
  console.log(`batch ${b}: median ${med.toFixed(2)} s wall (min ${times[0].toFixed(2)} s, ${runs} runs) -> ${(b / med).toFixed(2)} img/s; process CPU time median ${cmed.toFixed(2)} s; load avg ${os.loadavg()[0].toFixed(2)}`);
}
model.dispose();
