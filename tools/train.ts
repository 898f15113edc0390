/**
 * Trains a model from a config and evaluates it:
 *   npx tsx tools/train.ts --task detection --config retinanet_litv2_s_ws4 [--work-dir D] [--resume]
 *     [--overwrite] [--cfg-options optimizer.lr=2e-4 ...] [--skip-bad-samples] [--no-validate] [--help]
 *     [--launcher gloo --nproc N [--nnodes M --node-rank R --master-addr H --master-port P]]
 * Outputs go to work_dirs/<config>/ (merged config, JSON-lines log, checkpoints, eval json).
 */
import { initBackend, reportToolError, wantsHelp, trainCli, launchIfRequested } from '@litv2/core/node';
import { toolDeps } from './task_table';

try {
  // `--launcher gloo` in the launching process: start the workers (each runs this script) and wait for them.
  const launched = await launchIfRequested(process.argv.slice(2));
  if (launched !== undefined) process.exit(launched);
  // --help answers at once, before the backend loads.
  if (!wantsHelp(process.argv.slice(2))) await initBackend();
  const out = await trainCli(process.argv.slice(2), toolDeps());
  if (out.rank === 0) console.log(`done: ${out.runner.iter} iterations; outputs in ${out.workDir}`);
} catch (e) {
  process.exit(reportToolError('train', e));
}
