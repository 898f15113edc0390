import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { HiLo } from '@litv2/core';
import { initBackend } from '@litv2/core/node';
import { parseCheckFixtureArgs, runCheckFixture } from '../parity/check';

const repoRoot = path.resolve(__dirname, '../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** Writes a litv2-fixture-v1 pair from named tensors (PyTorch layout). */
function writeFixture(dir: string, name: string, meta: Record<string, unknown>, tensors: { name: string; role: string; t: tf.Tensor }[]): string {
  let offset = 0;
  const chunks: Buffer[] = [];
  const entries = tensors.map(({ name: n, role, t }) => {
    const data = Buffer.from(new Float32Array(t.dataSync()).buffer);
    chunks.push(data);
    const e = { name: n, role, shape: t.shape, dtype: 'float32', offset, nbytes: data.length };
    offset += data.length;
    return e;
  });
  fs.writeFileSync(path.join(dir, `${name}.bin`), Buffer.concat(chunks));
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ case: name, format: 'litv2-fixture-v1', byte_order: 'little', bin_file: `${name}.bin`, total_bytes: offset, meta, tensors: entries }));
  return file;
}

test('argument parsing', () => {
  expect(parseCheckFixtureArgs(['a.json', '--atol', '1e-3', '--rtol=0.5', '--backbone-weights', 'w.pth'])).toEqual({ files: ['a.json'], atol: 1e-3, rtol: 0.5, backboneWeights: 'w.pth' });
  expect(() => parseCheckFixtureArgs(['a.json', '--tol', '1'])).toThrow(/unknown option --tol/);
  expect(() => parseCheckFixtureArgs([])).toThrow(/usage/);
});

test('HiLo fixtures with arbitrary ctor values are rebuilt from meta.ctor; a wrong output fails', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-fx-'));
  // dim 40, 5 heads, window 3, alpha 0.3 -> l_heads = trunc(1.5) = 1; 7x8 map pads to 9x9.
  const hilo = new HiLo(40, { numHeads: 5, qkvBias: false, qkScale: 0.3, windowSize: 3, alpha: 0.3 });
  const x = tf.randomNormal([3, 7, 8, 40], 0, 1, 'float32', 5) as tf.Tensor4D;
  const r = hilo.forwardBranches(x);
  const sd = hilo.stateDict();
  const ctor = { dim: 40, num_heads: 5, qkv_bias: false, qk_scale: 0.3, window_size: 3, alpha: 0.3 };
  const tensors = [
    ...Object.entries(sd).map(([n, t]) => ({ name: n, role: 'param', t })),
    { name: 'x_7x8', role: 'input', t: x.reshape([3, 56, 40]) },
    { name: 'out_7x8', role: 'output', t: r.out.reshape([3, 56, 40]) },
    { name: 'hifi_7x8', role: 'intermediate', t: r.hifi! },
    { name: 'lofi_7x8', role: 'intermediate', t: r.lofi! },
  ];
  const meta = { module: 'HiLo (synthetic)', ctor, cases: [{ H: 7, W: 8, input: 'x_7x8', output: 'out_7x8' }], flops_official_formula: { '7x8': hilo.flops(7, 8) } };
  const good = writeFixture(dir, 'hilo_odd', meta, tensors);
  const bad = writeFixture(dir, 'hilo_bad', meta, tensors.map((e) => (e.name === 'out_7x8' ? { ...e, t: e.t.add(1e-3) } : e)));
  const quiet = () => undefined;
  const ok = await runCheckFixture({ files: [good], atol: 1e-5, rtol: 1e-5 }, quiet);
  expect(ok.ok).toBe(true);
  expect(ok.reports[0].rows.map((x) => x.name)).toEqual(['out_7x8', 'hifi_7x8', 'lofi_7x8', 'flops_7x8']);
  const fail = await runCheckFixture({ files: [bad], atol: 1e-5, rtol: 1e-5 }, quiet);
  expect(fail.ok).toBe(false);
  expect(fail.reports[0].rows.find((x) => x.name === 'out_7x8')!.ok).toBe(false);
  tf.dispose([x, r.out, r.hifi!, r.lofi!, ...Object.values(sd)]);
  hilo.dispose();
});

test('unknown fixture kinds and broken manifests give clear errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-fx-'));
  const f = writeFixture(dir, 'mystery', { module: 'Mystery' }, [{ name: 'a', role: 'input', t: tf.zeros([2]) }]);
  await expect(runCheckFixture({ files: [f], atol: 1, rtol: 1 }, () => undefined)).rejects.toThrow(/no fixture handler recognises case 'mystery'/);
  const j = JSON.parse(fs.readFileSync(f, 'utf8'));
  j.tensors[0].nbytes = 12;
  fs.writeFileSync(f, JSON.stringify(j));
  await expect(runCheckFixture({ files: [f], atol: 1, rtol: 1 }, () => undefined)).rejects.toThrow(/tensors\[0\] \(a\)\.nbytes/);
});

test('the CLI exits 0 on a passing fixture and 1 when the tolerance is impossible', () => {
  const run = (extra: string[]) => spawnSync('npx', ['tsx', 'tools/check-fixture.ts', path.join(fixturesDir, 'dtm.json'), ...extra], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LITV2_BACKEND: 'cpu' } });
  const pass = run([]);
  expect(pass.stdout).toMatch(/PASS: 6\/6/);
  expect(pass.status).toBe(0);
  const fail = run(['--atol', '0', '--rtol', '0']);
  expect(fail.stdout).toMatch(/FAIL/);
  expect(fail.status).toBe(1);
});
