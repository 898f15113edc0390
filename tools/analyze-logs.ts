/**
 * `npx tsx tools/analyze-logs.ts plot|keys ...` (nx: `tools:analyze-logs`); the commands live in
 * tools/analysis/analyze_logs.ts. Exit status: 0 ok, 2 usage error, 1 runtime error.
 */
import { exitCodeOf } from '@litv2/core/node';
import { main } from './analysis/analyze_logs';

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  console.error(`analyze-logs: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  code = exitCodeOf(e);
}
process.exit(code);
