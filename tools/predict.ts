/**
 * Inference entry point: `npx tsx tools/predict.ts --task <classification|detection|segmentation> ...`
 * (nx: `<task>:predict`). Each task lives in `tools/predict/<task>.ts`, exporting `main(argv): Promise<number>`;
 * `--task` is taken out here. Exit status: 0 ok, 2 usage error, 1 runtime error (`LITV2_DEBUG=1` prints the stack).
 */
import { reportToolError, splitTask, wantsHelp } from '@litv2/core/node';

const TASKS = ['classification', 'detection', 'segmentation'];

async function run(argv: string[]): Promise<number> {
  const { task, rest } = splitTask(argv);
  if (!task && wantsHelp(argv)) {
    console.log(`usage: predict --task ${TASKS.join('|')} [task options]; \`--task T --help\` lists the options of T`);
    return 0;
  }
  if (!task || !TASKS.includes(task)) {
    console.error(`predict: --task must be one of ${TASKS.join(', ')}${task ? ` (got '${task}')` : ''}`);
    return 2;
  }
  const mod = (await import(`./predict/${task}.ts`)) as { main(argv: string[]): Promise<number> };
  return mod.main(rest);
}

let code: number;
try {
  code = await run(process.argv.slice(2));
} catch (e) {
  code = reportToolError('predict', e);
}
// Explicit exit: backend worker pools would otherwise keep the process alive.
process.exit(code);
