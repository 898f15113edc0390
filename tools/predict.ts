/**
 * Inference entry point: `npx tsx tools/predict.ts --task <classification|detection|segmentation> ...`
 * (nx: `<task>:predict`). Each task lives in `tools/predict/<task>.ts`, exporting `main(argv): Promise<number>`;
 * `--task` is taken out here. Exit status: 0 ok, 2 usage error, 1 runtime error (`LITV2_DEBUG=1` prints the stack).
 */
import { exitCodeOf, splitTask } from '@litv2/core/node';

const TASKS = ['classification', 'detection', 'segmentation'];

async function run(argv: string[]): Promise<number> {
  const { task, rest } = splitTask(argv);
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
  console.error(`predict: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  code = exitCodeOf(e);
}
// Explicit exit: backend worker pools would otherwise keep the process alive.
process.exit(code);
