import * as tf from '@tensorflow/tfjs';
import { initBackend, LITv2, litv2Preset } from '@litv2/core';
await initBackend({ backend: 'native' });
const model = new LITv2({ ...litv2Preset('s') });
model.eval();
const x = tf.randomNormal([8, 224, 224, 3]) as tf.Tensor4D;
const step = () => tf.tidy(() => { model.forward(x).dataSync(); });
step(); step();
const stats = new Map<string, { n: number; cpu: number }>();
for (const cfg of tf.getKernelsForBackend('cpu')) {
  tf.unregisterKernel(cfg.kernelName, 'cpu');
  tf.registerKernel({ ...cfg, kernelFunc: ((args: any) => {
    const c0 = process.cpuUsage(); const r = cfg.kernelFunc(args); const c = process.cpuUsage(c0);
    const key = process.env.SHAPES && cfg.kernelName === process.env.SHAPES ? `${cfg.kernelName} ${Object.values(args.inputs).map((t: any) => '[' + t.shape + ']').join(' ')} ${JSON.stringify(args.attrs ?? {})}` : cfg.kernelName;
    const s = stats.get(key) ?? { n: 0, cpu: 0 }; s.n++; s.cpu += (c.user + c.system) / 1000; stats.set(key, s); return r; }) as any });
}
let c0 = process.cpuUsage(); step(); step(); let c = process.cpuUsage(c0);
console.log('eval bs8 cpu per step', ((c.user + c.system) / 2000).toFixed(0));
let tot = 0; for (const s of stats.values()) tot += s.cpu; console.log('kernel cpu per step', (tot / 2).toFixed(0));
console.log([...stats.entries()].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, +(process.env.TOP ?? 20)).map(([k, s]) => `${(s.cpu / 2).toFixed(1).padStart(8)} cpu-ms ${String(s.n / 2).padStart(4)}x ${k}`).join('\n'));
