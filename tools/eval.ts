/**
 * Evaluates a checkpoint on the config's test split and prints the metric table:
 *   npx tsx tools/eval.ts --task detection --config NAME --checkpoint FILE [--out results.json] [--work-dir D]
 * (`npx nx run <task>:test --config NAME --checkpoint FILE` runs this through tools/test.ts.)
 */
import { evalCli, initBackend, reportToolError, wantsHelp } from '@litv2/core/node';
import { toolDeps } from './task_table';

try {
  // --help answers at once, before the backend loads.
  if (!wantsHelp(process.argv.slice(2))) await initBackend();
  await evalCli(process.argv.slice(2), toolDeps());
} catch (e) {
  process.exit(reportToolError('eval', e));
}
