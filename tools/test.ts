/**
 * `nx run <project>:test`. Without model arguments it runs the project's jest suite; with `--config` (and
 * `--checkpoint`) on a task project it evaluates a trained model, as `tools/eval.ts` does.
 */
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const i = argv.indexOf('--project');
const project = i >= 0 ? argv[i + 1] : undefined;
const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
// `<task>:test --help` describes the model evaluation (jest's own help is `npx jest --help`).
const wantsModelEval = rest.includes('--config') || rest.some((a) => a.startsWith('--config=')) || rest.includes('--help') || rest.includes('-h');

let cmd: string[];
if (wantsModelEval && project && ['detection', 'segmentation', 'classification'].includes(project)) {
  cmd = ['npx', 'tsx', 'tools/eval.ts', '--task', project, ...rest];
} else {
  cmd = ['npx', 'jest', ...(project ? [`packages/${project}`] : []), ...rest];
}
const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? '' } });
process.exit(r.status ?? 1);
