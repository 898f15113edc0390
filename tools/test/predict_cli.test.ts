import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Fixture, UsageError } from '@litv2/core/node';
import { parseClassificationArgs } from '../predict/classification';

const repoRoot = path.resolve(__dirname, '../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const run = (args: string[]) => spawnSync(tsx, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LITV2_QUIET_BACKEND: '1' } });

test('classification predict flags: parsed by toolFlags, usage errors name the flag', () => {
  expect(parseClassificationArgs(['--config', 'litv2_s', '--tensor', 'x.bin', '--shape', '2,3,224,224', '--topk', '3', '--json', '--cfg-options', 'a=1'])).toEqual({
    config: 'litv2_s', tensor: 'x.bin', shape: [2, 3, 224, 224], topk: 3, json: true, cfgOptions: ['a=1'],
    checkpoint: undefined, image: undefined, labels: undefined,
  });
  expect(() => parseClassificationArgs(['--config', 'c', '--image', 'a', '--topk', '0'])).toThrow(/--topk expects an integer >= 1/);
  expect(() => parseClassificationArgs(['--image', 'a'])).toThrow(UsageError);
  expect(() => parseClassificationArgs(['--config', 'c', '--image', 'a', '--tensor', 'b'])).toThrow(/give exactly one of --image FILE or --tensor FILE; usage:/);
});

test('tools/predict.ts --task classification on the tiny fixture prints the reference logits; usage errors exit 2', () => {
  const fx = Fixture.load(path.join(fixturesDir, 'litv2_tiny.json'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-predict-cli-'));
  try {
    const input = path.join(tmp, 'input.bin');
    fs.writeFileSync(input, Buffer.from(fx.array('input').buffer));
    const ok = run([
      'tools/predict.ts', '--task', 'classification', '--config', 'litv2_s',
      '--cfg-options', 'model.backbone.embed_dim=48', 'model.backbone.depths=[1,1,2,1]',
      '--checkpoint', path.join(fixturesDir, 'litv2_tiny.pth'), '--tensor', input, '--shape', '2,3,224,224', '--json',
    ]);
    expect(ok.stderr).not.toMatch(/predict:/);
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout.trim().split('\n').pop()!) as { logits: number[][] };
    const ref = fx.array('logits');
    const got = out.logits.flat();
    expect(got).toHaveLength(ref.length);
    expect(Math.max(...got.map((v, i) => Math.abs(v - ref[i])))).toBeLessThan(1e-4);

    const bad = run(['tools/predict.ts', '--task', 'classification', '--config', 'litv2_s', '--imgae', 'x.jpg']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/predict: unknown option '--imgae' \(did you mean '--image'\?\); usage: --config NAME/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
