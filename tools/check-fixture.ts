/**
 * Checks our modules against `litv2-fixture-v1` reference fixtures:
 *   npx tsx tools/check-fixture.ts ../shared/reference/litv2/fixtures/hilo_ws2.json [--atol 1e-4] [--rtol 1e-4]
 * Prints max abs / rel error per tensor; exits 1 when any tensor is out of tolerance.
 */
import { parseCheckFixtureArgs, runCheckFixture } from './parity/check';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: check-fixture FIXTURE.json [FIXTURE.json ...] [--atol 1e-4] [--rtol 1e-4]');
  process.exit(0);
}

try {
  const { ok } = await runCheckFixture(parseCheckFixtureArgs(process.argv.slice(2)));
  process.exit(ok ? 0 : 1);
} catch (e) {
  console.error(`check-fixture: ${(e as Error).message}`);
  process.exit(2);
}
