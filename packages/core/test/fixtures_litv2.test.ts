import * as path from 'node:path';
import * as fs from 'node:fs';
import { initBackend, checkFixture, formatFixtureReport, LITV2_FIXTURE_HANDLERS } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');
const tol = { atol: 1e-4, rtol: 1e-4 };

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const small = ['hilo_ws2', 'hilo_ws4', 'hilo_ws2_alpha0', 'hilo_ws2_alpha1', 'hilo_ws1', 'hilo_ws2_nobias', 'hilo_s_stage3', 'hilo_ws4_alpha0.9', 'dtm'];

describe('shipped LITv2 fixtures pass at atol 1e-4 / rtol 1e-4', () => {
  for (const name of [...small, 'litv2_tiny_backbone', 'litv2_tiny']) {
    test(name, async () => {
      const file = path.join(fixturesDir, `${name}.json`);
      expect(fs.existsSync(file)).toBe(true);
      const r = await checkFixture(file, LITV2_FIXTURE_HANDLERS, tol);
      console.log(formatFixtureReport(r));
      expect(r.notCompared).toEqual([]);
      expect(r.rows.every((x) => x.ok)).toBe(true);
      expect(r.ok).toBe(true);
    });
  }
});
