/** The tools' task table: tasks come from a plain table; an unknown --task names the known ones. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

test('train.ts --task with an unknown name fails in one line listing the known tasks', () => {
  const r = spawnSync('npx', ['tsx', 'tools/train.ts', '--task', 'detectoin', '--config', 'retinanet_litv2_tiny_synthetic'], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LITV2_BACKEND: 'cpu', LITV2_QUIET_BACKEND: '1' },
  });
  expect(r.status).toBe(1);
  expect(r.stderr.trim()).toMatch(/^train: unknown task 'detectoin' \(did you mean 'detection'\?\); known tasks: detection, segmentation, classification$/m);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
});
