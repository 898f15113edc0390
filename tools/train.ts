/**
 * Trains a model from a config and evaluates it:
 *   npx tsx tools/train.ts --task detection --config retinanet_litv2_s_ws4 [--work-dir D] [--resume]
 *     [--overwrite] [--cfg-options optimizer.lr=2e-4 ...] [--skip-bad-samples] [--no-validate] [--help]
 * Outputs go to work_dirs/<config>/ (merged config, JSON-lines log, checkpoints, eval json).
 */
import { initBackend, reportToolError, wantsHelp, trainCli } from '@litv2/core/node';
import { toolDeps } from './task_table';

try {
  // --help answers at once, before the backend loads.
  if (!wantsHelp(process.argv.slice(2))) await initBackend();
  const out = await trainCli(process.argv.slice(2), toolDeps());
  console.log(`done: ${out.runner.iter} iterations; outputs in ${out.workDir}`);
} catch (e) {
  process.exit(reportToolError('train', e));
}
