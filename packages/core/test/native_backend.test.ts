import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LITv2, litv2Preset, seedEverything } from '@litv2/core';
import { registerNativeKernels, setNativeThreads, unregisterNativeKernels } from '@litv2/core/node';
import { describeNative } from './native_helpers';

type Core = typeof import('@litv2/core/node');
/** A fresh copy of @litv2/core (its backend choice is made once per module instance). */
function freshCore(): Core {
  let core: Core | undefined;
  jest.isolateModules(() => {
    // Same tfjs instance (its engine and kernel registry are process-global anyway).
    jest.doMock('@tensorflow/tfjs', () => tf);
    core = require('@litv2/core/node') as Core;
  });
  return core!;
}

afterEach(() => {
  delete process.env.LITV2_NATIVE_ADDON;
  jest.restoreAllMocks();
});

test('a missing add-on gives one clear warning and the plain cpu backend, never a crash', async () => {
  process.env.LITV2_NATIVE_ADDON = '/nonexistent/litv2_native.node';
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const core = freshCore();
  const info = await core.initBackend({ quiet: true });
  expect(info.tfBackend).toBe('cpu');
  expect(info.nativeKernels).toBe(false);
  expect(warn).toHaveBeenCalledTimes(1);
  expect(String(warn.mock.calls[0][0])).toMatch(/native CPU kernels unavailable.*not built/);
  await expect(freshCore().initBackend({ backend: 'native', quiet: true })).rejects.toThrow(/LITV2_BACKEND=native/);
});

test('an out-of-date add-on (missing functions) is refused at load with a rebuild hint, not mid-run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-stale-'));
  const stale = path.join(dir, 'litv2_native_stale.js');
  // Stands in for an add-on built from older sources: it has the early functions but not the fused kernels.
  fs.writeFileSync(stale, 'module.exports = { setNumThreads() {}, numThreads() { return 1; }, blasConfig() { return "x"; } };');
  process.env.LITV2_NATIVE_ADDON = stale;
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const info = await freshCore().initBackend({ quiet: true });
  expect(info.nativeKernels).toBe(false);
  expect(warn).toHaveBeenCalledTimes(1);
  expect(String(warn.mock.calls[0][0])).toMatch(/out of date \(no batchMatMul, .*layerNorm.*\); rebuild it with `node tools\/build-native\.mjs`/);
});

describeNative('backend selection', () => {
  afterAll(() => unregisterNativeKernels());

  test('LITV2_BACKEND=cpu leaves the original tfjs kernels in place; auto selects the native kernels', async () => {
    unregisterNativeKernels();
    await tf.setBackend('cpu');
    const original = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
    const plain = await freshCore().initBackend({ backend: 'cpu', quiet: true });
    expect(plain.nativeKernels).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).toBe(original);
    expect(tf.getKernel('LITv2Gelu', 'cpu')).toBeUndefined();
    const core = freshCore();
    const auto = await core.initBackend({ quiet: true });
    expect(auto.nativeKernels).toBe(true);
    expect(auto.description).toMatch(/OpenBLAS/);
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).not.toBe(original);
    expect(tf.getKernel('LITv2Gelu', 'cpu')).toBeDefined();
    core.unregisterNativeKernels();
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).toBe(original);
  });

  test('changing the thread count between calls is safe and gives the same results', () => {
    expect(registerNativeKernels().ok).toBe(true);
    const a = tf.randomUniform([96, 64, 32], -1, 1, 'float32', 1), b = tf.randomUniform([96, 32, 48], -1, 1, 'float32', 2);
    const x = tf.randomUniform([4, 200, 100], -1, 1, 'float32', 3);
    const run = () => tf.tidy(() => [tf.matMul(a, b), tf.softmax(x), tf.sum(x, 1), tf.erf(x).add(x)].map((t) => Float32Array.from(t.dataSync())));
    setNativeThreads(1);
    const ref = run();
    for (const n of [2, 1, 2]) {
      setNativeThreads(n);
      const worst = run().map((r, i) => r.reduce((m: number, v: number, j: number) => Math.max(m, Math.abs(v - ref[i][j]) / (1 + Math.abs(ref[i][j]))), 0));
      expect(Math.max(...worst)).toBeLessThan(1e-5);
    }
    setNativeThreads(1);
    tf.dispose([a, b, x]);
  });

  test('a small LITv2 training step: loss and every parameter gradient match the plain tfjs path', async () => {
    await tf.setBackend('cpu');
    seedEverything(3);
    const model = new LITv2({ ...litv2Preset('s'), embed_dim: 16, depths: [1, 1, 1, 1], num_heads: [1, 2, 2, 4], img_size: 32, num_classes: 10, drop_path_rate: 0 });
    model.train();
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
    const vars = model.namedParameters();
    const run = () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(x)) as tf.Scalar, vars.map(([, v]) => v));
      const out = { loss: value.dataSync()[0], grads: vars.map(([n, v]) => [n, grads[v.name].dataSync().slice()] as const) };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    unregisterNativeKernels();
    const original = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
    expect(registerNativeKernels().ok).toBe(true);
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).not.toBe(original);
    const fast = run();
    unregisterNativeKernels();
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).toBe(original);
    const ref = run();
    expect(Math.abs(fast.loss - ref.loss)).toBeLessThan(1e-5);
    for (let i = 0; i < ref.grads.length; ++i) {
      const [name, g] = ref.grads[i];
      const f = fast.grads[i][1];
      let d = 0, s = 0;
      for (let j = 0; j < g.length; ++j) {
        d = Math.max(d, Math.abs(f[j] - g[j]));
        s = Math.max(s, Math.abs(g[j]));
      }
      if (d > 1e-4 * (1 + s)) throw new Error(`gradient of ${name}: max |native - tfjs| ${d} (scale ${s})`);
    }
    model.dispose();
  });
});
