/**
 * Evaluates a checkpoint on the config's test split and prints the metric table:
 *   npx tsx tools/eval.ts --task detection --config NAME --checkpoint FILE [--out results.json] [--work-dir D]
 * (`npx nx run <task>:test --config NAME --checkpoint FILE` runs this through tools/test.ts.)
 */
import { evalCli, initBackend } from '@litv2/core/node';
import { toolDeps } from './task_table';

try {
  await initBackend();
  await evalCli(process.argv.slice(2), toolDeps());
} catch (e) {
  console.error(`eval: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  process.exit(1);
}
