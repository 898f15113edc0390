import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '@litv2/core';
import { initBackend } from '@litv2/core/node';
import { loadCheckpoint, loadStateDictFile, saveCheckpoint, writeFileAtomic } from '../src/node';
import { writeAll, writeTextFileAtomic } from '../src/checkpoint/atomic';

const repoRoot = path.resolve(__dirname, '../../..');
let tmp: string;
beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-ckpt-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sample() {
  return {
    model: {
      'conv.weight': tf.tensor4d([1.5, -2.25, 3e-8, 4, 5, 6, 7, 8], [2, 1, 2, 2]),
      'bn.num_batches_tracked': tf.scalar(1234),
      'idx': tf.tensor1d([1, -2, 3], 'int32'),
    },
    optimizer: {
      type: 'AdamW',
      step: 7,
      slots: { m: { 'conv.weight': tf.fill([2, 1, 2, 2], 0.5) }, v: { 'conv.weight': tf.fill([2, 1, 2, 2], 0.25) } },
      extra: { lr: 1e-3, betas: [0.9, 0.999] },
    },
    meta: { epoch: 3, iter: 120, config: { model: { type: 'RetinaNet' } }, rng: { seed: 42, counter: 9 } },
  };
}

async function values(d: Record<string, tf.Tensor>): Promise<Record<string, { shape: number[]; dtype: string; data: number[] }>> {
  const out: Record<string, { shape: number[]; dtype: string; data: number[] }> = {};
  for (const [k, t] of Object.entries(d)) out[k] = { shape: t.shape, dtype: t.dtype, data: [...(await t.data())] };
  return out;
}

test('saveCheckpoint / loadCheckpoint round-trip weights, optimizer state and meta exactly', async () => {
  const before = tf.memory().numTensors;
  const ck = sample();
  const file = path.join(tmp, 'sub/dir/epoch_3.pth');
  await saveCheckpoint(file, ck);
  const back = await loadCheckpoint(file);
  expect(await values(back.model)).toEqual(await values(ck.model));
  expect(back.meta).toEqual(ck.meta);
  expect(back.optimizer!.type).toBe('AdamW');
  expect(back.optimizer!.step).toBe(7);
  expect(back.optimizer!.extra).toEqual(ck.optimizer.extra);
  expect(await values(back.optimizer!.slots.m)).toEqual(await values(ck.optimizer.slots.m));
  expect(await values(back.optimizer!.slots.v)).toEqual(await values(ck.optimizer.slots.v));
  expect(fs.readdirSync(path.dirname(file))).toEqual(['epoch_3.pth']); // no temp file left behind

  // The same file feeds loadStateDictFile (model weights only, float32, optional prefix).
  const sd = await loadStateDictFile(file);
  expect(Object.keys(sd).sort()).toEqual(['bn.num_batches_tracked', 'conv.weight', 'idx']);
  expect(Object.values(sd).every((t) => t.dtype === 'float32')).toBe(true);
  const conv = await loadStateDictFile(file, { prefix: 'conv.' });
  expect(Object.keys(conv)).toEqual(['weight']);

  tf.dispose([...Object.values(ck.model), ...Object.values(ck.optimizer.slots.m), ...Object.values(ck.optimizer.slots.v)]);
  tf.dispose([...Object.values(back.model), ...Object.values(back.optimizer!.slots.m), ...Object.values(back.optimizer!.slots.v)]);
  tf.dispose([...Object.values(sd), ...Object.values(conv)]);
  expect(tf.memory().numTensors).toBe(before);
});

test('the file is safetensors-compatible (u64 header length, JSON header, aligned data)', async () => {
  const file = path.join(tmp, 'layout.pth');
  const w = tf.tensor1d([1, 2, 3]);
  await saveCheckpoint(file, { model: { w }, meta: { epoch: 1 } });
  w.dispose();
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  expect(n % 8).toBe(0);
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  expect(header['model.w']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
  expect(header.__metadata__.format).toBe('litv2-ts-checkpoint');
  expect(JSON.parse(header.__metadata__.meta)).toEqual({ epoch: 1 });
  expect(header.__metadata__.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(header.__metadata__.sha256).not.toBe('0'.repeat(64));
  expect([...new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n, buf.byteOffset + 8 + n + 12))]).toEqual([1, 2, 3]);
  expect(buf.length).toBe(8 + n + 12);
});

test('truncated or corrupt checkpoints are refused with an error naming the file', async () => {
  const file = path.join(tmp, 'good.pth');
  const ck = sample();
  await saveCheckpoint(file, ck);
  tf.dispose([...Object.values(ck.model), ...Object.values(ck.optimizer.slots.m), ...Object.values(ck.optimizer.slots.v)]);
  const good = fs.readFileSync(file);

  const truncated = path.join(tmp, 'truncated.pth');
  fs.writeFileSync(truncated, good.subarray(0, good.length - 5));
  await expect(loadCheckpoint(truncated)).rejects.toThrow(/truncated\.pth: truncated checkpoint/);
  fs.writeFileSync(truncated, good.subarray(0, 100));
  await expect(loadCheckpoint(truncated)).rejects.toThrow(/truncated\.pth: .*(truncated|corrupt)/);

  const corrupt = path.join(tmp, 'corrupt.pth');
  const bad = Buffer.from(good);
  bad[bad.length - 3] ^= 0x40;
  fs.writeFileSync(corrupt, bad);
  await expect(loadCheckpoint(corrupt)).rejects.toThrow(/corrupt\.pth: corrupt checkpoint \(sha256/);
  await expect(loadStateDictFile(corrupt)).rejects.toThrow(/corrupt\.pth: corrupt checkpoint/);

  await expect(saveCheckpoint(path.join(tmp, 'x.pth'), { model: {}, meta: { n: 1n } })).rejects.toThrow(/x\.pth.*not JSON-serialisable/);
});

test('a writer failing midway leaves the previous checkpoint intact and no temp file', async () => {
  const file = path.join(tmp, 'latest.pth');
  const w = tf.tensor1d([1, 2, 3]);
  await saveCheckpoint(file, { model: { w }, meta: { gen: 0 } });
  w.dispose();
  expect(() =>
    writeFileAtomic(file, (fd) => {
      writeAll(fd, new Uint8Array(1000));
      throw new Error('disk full');
    }),
  ).toThrow('disk full');
  const back = await loadCheckpoint(file);
  expect(back.meta).toEqual({ gen: 0 });
  expect([...back.model.w.dataSync()]).toEqual([1, 2, 3]);
  tf.dispose(Object.values(back.model));
  expect(fs.readdirSync(tmp).filter((n) => n.includes('latest.pth.tmp'))).toEqual([]);
});

test('a writer process SIGKILLed mid-write leaves the previous checkpoint loadable', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'kill-'));
  const file = path.join(dir, 'latest.pth');
  const w = tf.fill([1000], 1);
  await saveCheckpoint(file, { model: { w }, meta: { gen: 0 } });
  w.dispose();

  // node --import tsx (not the tsx CLI, which forks a second process that SIGKILL would orphan).
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/checkpoint-writer.ts'), file, '48'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let partial: string | undefined;
  try {
    // Kill as soon as the temp file holds part of the tensor data.
    const deadline = Date.now() + 60_000;
    while (!partial && Date.now() < deadline && child.exitCode === null) {
      for (const n of fs.readdirSync(dir)) {
        if (!n.startsWith('.latest.pth.tmp-')) continue;
        try {
          if (fs.statSync(path.join(dir, n)).size > 1 << 20) partial = n; // header and part of the data written
        } catch {
          // renamed between readdir and stat
        }
      }
      if (!partial) await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL'); // also when the loop throws: never leave the writer running
    await exited;
  }
  if (!partial) throw new Error(`writer never started writing: ${stderr}`);
  expect(partial).toContain(`.tmp-${child.pid}-`); // the process we killed is the one that was writing

  // The target is a complete checkpoint: the old one (or, if a whole write slipped in, a complete new one).
  const back = await loadCheckpoint(file);
  const gen = back.meta.gen as number;
  const vals = back.model.w.dataSync();
  expect(vals.every((v) => v === (gen === 0 ? 1 : 2))).toBe(true);
  expect(back.model.w.size).toBe(gen === 0 ? 1000 : 48 * 262144);
  tf.dispose(Object.values(back.model));
  // A temp file left by the kill is never mistaken for a checkpoint: it is incomplete or it loads fully.
  for (const n of fs.readdirSync(dir).filter((x) => x.startsWith('.latest.pth.tmp-'))) {
    await loadCheckpoint(path.join(dir, n)).then(
      (ck) => tf.dispose(Object.values(ck.model)),
      (e: Error) => expect(e.message).toContain(n),
    );
  }
});

test('writeTextFileAtomic: a failed rename throws and leaves no temp file behind', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'atomic-'));
  const target = path.join(dir, 'busy');
  fs.mkdirSync(path.join(target, 'child'), { recursive: true }); // a non-empty directory: rename onto it fails
  expect(() => writeTextFileAtomic(target, 'x')).toThrow();
  expect(fs.readdirSync(dir)).toEqual(['busy']);
  writeTextFileAtomic(path.join(dir, 'ok.txt'), 'hello\n');
  expect(fs.readFileSync(path.join(dir, 'ok.txt'), 'utf8')).toBe('hello\n');
  expect(fs.readdirSync(dir).sort()).toEqual(['busy', 'ok.txt']);
});
