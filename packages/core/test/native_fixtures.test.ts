import * as path from 'node:path';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, checkFixture, formatFixtureReport, LITV2_FIXTURE_HANDLERS, nativeKernelsRegistered, unregisterNativeKernels } from '@litv2/core/node';
import { describeNative } from './native_helpers';

// The shipped PyTorch parity fixtures, on the fast path (cpu backend + native kernels, fused GELU/LayerNorm).
const repoRoot = path.resolve(__dirname, '../../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');
const tol = { atol: 1e-4, rtol: 1e-4 };

describeNative('LITv2 fixtures pass at 1e-4 on the native kernels', () => {
  beforeAll(async () => {
    const info = await initBackend({ backend: 'native', quiet: true });
    expect(info.nativeKernels).toBe(true);
    expect(tf.getBackend()).toBe('cpu');
  });
  afterAll(() => unregisterNativeKernels());

  const names = ['hilo_ws2', 'hilo_ws4', 'hilo_ws2_alpha0', 'hilo_ws2_alpha1', 'hilo_ws1', 'hilo_ws2_nobias', 'hilo_s_stage3', 'hilo_ws4_alpha0.9', 'dtm', 'litv2_tiny_backbone', 'litv2_tiny'];
  for (const name of names) {
    test(name, async () => {
      expect(nativeKernelsRegistered()).toBe(true);
      const file = path.join(fixturesDir, `${name}.json`);
      expect(fs.existsSync(file)).toBe(true);
      const r = await checkFixture(file, LITV2_FIXTURE_HANDLERS, tol);
      // Tensor outputs only: the `derived.*` rows are JS scalars computed the same way on every backend (and
      // checked by fixtures_litv2.test.ts).
      const rows = r.rows.filter((x) => !x.name.startsWith('derived.'));
      if (!rows.every((x) => x.ok)) console.log(formatFixtureReport(r));
      expect(r.notCompared).toEqual([]);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((x) => !x.ok).map((x) => x.name)).toEqual([]);
    });
  }
});
