import * as tf from '@tensorflow/tfjs';
import { initBackend, nativePoolStats } from '@litv2/core';
await initBackend({ backend: 'native' });
const x = tf.randomNormal([8, 56, 56, 384]);
const y = tf.randomNormal([8, 56, 56, 384]);
for (const [label, f] of [['mul scalar', () => x.mul(0.5)], ['mul same', () => x.mul(y)], ['mul bool-cast', () => x.mul(tf.greater(y, 0))]] as const) {
  for (let k = 0; k < 2; ++k) {
    const c0 = process.cpuUsage(); const t0 = performance.now();
    for (let i = 0; i < 10; ++i) tf.tidy(() => { f(); });
    const c = process.cpuUsage(c0);
    console.log(label, ((performance.now() - t0) / 10).toFixed(1), 'ms wall', ((c.user + c.system) / 1e4).toFixed(1), 'ms cpu', JSON.stringify(nativePoolStats()));
  }
}
