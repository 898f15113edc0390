/**
 * Inference entry point: `npx tsx tools/predict.ts --task <classification|detection|segmentation> ...`.
 * Each task lives in `tools/predict/<task>.ts`, exporting `main(argv): Promise<number>`.
 */
export {};

const argv = process.argv.slice(2);
const i = argv.indexOf('--task');
const task = i >= 0 ? argv[i + 1] : undefined;
const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
const TASKS = ['classification', 'detection', 'segmentation'];
if (!task || !TASKS.includes(task)) {
  console.error(`predict: --task must be one of ${TASKS.join(', ')}${task ? ` (got '${task}')` : ''}`);
  process.exit(2);
}
let mod: { main(argv: string[]): Promise<number> };
try {
  mod = await import(`./predict/${task}.ts`);
} catch (e) {
  console.error(`predict: task '${task}' is not available: ${(e as Error).message}`);
  process.exit(2);
}
try {
  process.exit(await mod.main(rest));
} catch (e) {
  console.error(`predict: ${(e as Error).message}`);
  process.exit(1);
}
