import * as tf from '@tensorflow/tfjs';
import { initBackend, LITv2, litv2Preset } from '@litv2/core';
await initBackend({ backend: 'native' });
const model = new LITv2({ ...litv2Preset('s') });
model.train();
const x = tf.randomNormal([8, 224, 224, 3]) as tf.Tensor4D;
const step = () => tf.tidy(() => { const { value } = tf.variableGrads(() => model.forward(x).square().mean() as tf.Scalar); value.dataSync(); });
step();
const stats = new Map<string, { n: number; cpu: number; wall: number }>();
for (const cfg of tf.getKernelsForBackend('cpu')) {
  tf.unregisterKernel(cfg.kernelName, 'cpu');
  tf.registerKernel({ ...cfg, kernelFunc: ((args: any) => {
    const c0 = process.cpuUsage(); const t0 = performance.now(); const r = cfg.kernelFunc(args); const c = process.cpuUsage(c0);
    const key = process.env.SHAPES && cfg.kernelName === process.env.SHAPES ? `${cfg.kernelName} ${Object.values(args.inputs).map((t: any) => '[' + t.shape + ']').join(' ')} ${JSON.stringify(args.attrs ?? {})}` : cfg.kernelName;
    const s = stats.get(key) ?? { n: 0, cpu: 0, wall: 0 }; s.n++; s.cpu += (c.user + c.system) / 1000; s.wall += performance.now() - t0; stats.set(key, s); return r; }) as any });
}
const c0 = process.cpuUsage(); const t0 = performance.now(); step(); const c = process.cpuUsage(c0);
console.log('step wall', (performance.now() - t0).toFixed(0), 'cpu', ((c.user + c.system) / 1000).toFixed(0));
let tot = 0; for (const s of stats.values()) tot += s.cpu; console.log('kernel cpu total', tot.toFixed(0));
console.log([...stats.entries()].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, +(process.env.TOP ?? 25)).map(([k, s]) => `${s.cpu.toFixed(1).padStart(8)} cpu-ms ${s.wall.toFixed(1).padStart(8)} wall ${String(s.n).padStart(4)}x ${k}`).join('\n'));
import { nativePoolStats } from '@litv2/core';
console.log(JSON.stringify(nativePoolStats()), 'rss', process.resourceUsage().maxRSS / 1024);
const c1 = process.cpuUsage(); const t1 = performance.now(); step(); const cc = process.cpuUsage(c1);
console.log('step4 wall', (performance.now() - t1).toFixed(0), 'cpu', ((cc.user + cc.system) / 1000).toFixed(0), JSON.stringify(nativePoolStats()));
