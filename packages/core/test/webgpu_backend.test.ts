import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LITv2, seedEverything } from '@litv2/core';
import { checkFixture, clipGradNorm, formatFixtureReport, guardSyncReads, initBackend, LITV2_FIXTURE_HANDLERS } from '@litv2/core/node';
import { probeWebGpu } from './helpers/webgpu_probe';

// The webgpu backend (Dawn's GL ES path; Mesa llvmpipe on CPU-only machines): the model code must give the
// cpu backend's numbers and must never read synchronously (browsers cannot). Skipped, with the reason, where
// Dawn has no adapter.
const probe = probeWebGpu();
if (!probe.ok) console.log(`[webgpu tests skipped] ${probe.reason}`);
const describeWebGpu = probe.ok ? describe : describe.skip;
const fixturesDir = path.resolve(__dirname, '../../../../shared/reference/litv2/fixtures');

describeWebGpu('webgpu backend (Dawn)', () => {
  let unguard: () => void = () => undefined;
  beforeAll(async () => {
    const info = await initBackend({ backend: 'webgpu', quiet: true });
    expect(info.tfBackend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
  });
  afterEach(() => unguard());

  test('the sync-read guard throws on a GPU readback, allows data still on the CPU side', () => {
    unguard = guardSyncReads();
    const a = tf.ones([64, 64]);
    const t = tf.matMul(a, a);
    expect(() => t.dataSync()).toThrow(/synchronous tensor read on the webgpu backend/);
    // Freshly uploaded values are still held on the CPU: reading them needs no GPU.
    expect(Array.from(tf.tensor1d([1, 2]).dataSync())).toEqual([1, 2]);
    tf.dispose([a, t]);
  });

  test("the runner's gradient clipping runs without synchronous reads and scales like torch's clip_grad_norm_", async () => {
    unguard = guardSyncReads();
    const grads: Record<string, tf.Tensor> = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) };
    const norm = await clipGradNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(Array.from(await grads.a.data())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(await grads.b.data())[1]).toBeCloseTo(0.8, 5);
    tf.dispose(Object.values(grads));
  });

  for (const name of ['hilo_ws2', 'litv2_tiny']) {
    test(`${name} fixture forward matches PyTorch within 1e-4, no synchronous reads`, async () => {
      unguard = guardSyncReads();
      const r = await checkFixture(path.join(fixturesDir, `${name}.json`), LITV2_FIXTURE_HANDLERS, { atol: 1e-4, rtol: 1e-4 });
      const rows = r.rows.filter((x) => !x.name.startsWith('derived.'));
      if (!rows.every((x) => x.ok)) console.log(formatFixtureReport(r));
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((x) => !x.ok).map((x) => x.name)).toEqual([]);
    });
  }

  test('a LITv2 training step: loss and every gradient equal the cpu backend within 1e-4, no synchronous reads', async () => {
    // Weights and inputs are made on the cpu backend and move to webgpu on first use there (the other way
    // round would need a synchronous GPU read).
    await tf.setBackend('cpu');
    seedEverything(3);
    const model = new LITv2({ embed_dim: 8, depths: [1, 1, 2, 1], num_heads: [1, 2, 4, 8], img_size: 32, num_classes: 5, drop_path_rate: 0 }).train();
    const named = model.namedParameters();
    const vars = named.map(([, v]) => v);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([1, 4], 'int32'), 5);
    const step = () => tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as tf.Scalar, vars);
    const read = async (r: { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      const out: Record<string, Float32Array> = { loss: (await r.value.data()) as Float32Array };
      for (const [n, v] of named) out[n] = (await r.grads[v.name].data()) as Float32Array;
      tf.dispose([r.value, ...Object.values(r.grads)]);
      return out;
    };
    const onCpu = await read(step());
    await tf.setBackend('webgpu');
    unguard = guardSyncReads();
    const onGpu = await read(step());
    expect(Object.keys(onGpu).length).toBe(named.length + 1);
    const worst: [string, number][] = [];
    for (const [k, want] of Object.entries(onCpu)) {
      const got = onGpu[k];
      expect(got.length).toBe(want.length);
      // Relative to the tensor's largest gradient: sums over many positions (the DTM offsets' bilinear
      // sampling) reach ~1e-4 of their scale in float32 accumulation order.
      let scale = 1;
      for (let i = 0; i < want.length; ++i) scale = Math.max(scale, Math.abs(want[i]));
      let m = 0;
      for (let i = 0; i < want.length; ++i) m = Math.max(m, Math.abs(got[i] - want[i]) / scale);
      worst.push([k, m]);
    }
    worst.sort((a, b) => b[1] - a[1]);
    console.log(`webgpu vs cpu training step: ${worst.length} tensors, worst ${worst.slice(0, 3).map(([k, m]) => `${k} ${m.toExponential(2)}`).join(', ')}`);
    expect(worst.filter(([, m]) => !(m <= 1e-4))).toEqual([]);
    tf.dispose([x, labels]);
    model.dispose?.();
  });
});
