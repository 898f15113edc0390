import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/node';
import * as tf from '@tensorflow/tfjs';
import { evalCli, trainCli, type CliDeps } from '../src/engine/cli';
import { findLatestCheckpoint } from '../src/engine/runner';
import { checkpointPointer, readCheckpointPointer, removeStaleTempFiles } from '../src/engine/work_dir';
import type { TaskDefinition } from '../src/engine/types';
import type { ConfigNode } from '../src/registry/registry';
import { HelpRequested, UsageError } from '../src/config/cli_flags';
import { MemoryCheckpointIO, ToyDataset, ToyModel } from './helpers/toy';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const task: TaskDefinition<ToyModel> = {
  name: 'toy_wd',
  buildModel: (cfg) => {
    if ((cfg.model as ConfigNode | undefined)?.broken) throw new Error('model.broken: rejected');
    return new ToyModel();
  },
  buildDataset: () => new ToyDataset(4),
  evaluate: async () => ({ metrics: {}, table: '' }),
};

const baseCfg: ConfigNode = {
  seed: 1,
  data: { samples_per_gpu: 2, train: {} },
  optimizer: { type: 'AdamW', lr: 1e-3 },
  lr_config: { policy: 'fixed' },
  runner: { type: 'EpochBasedRunner', max_epochs: 2 },
  checkpoint_config: { interval: 1 },
  log_config: { interval: 10 },
};

function deps(root: string, io: MemoryCheckpointIO, lines: string[], patch: ConfigNode = {}): CliDeps {
  return {
    loadConfig: (name) => ({ cfg: { ...structuredClone(baseCfg), ...structuredClone(patch) }, file: `configs/${name}.yaml`, name }),
    checkpointIO: io,
    loadWeights: async (f) => io.load(f).model,
    tasks: { [task.name]: task },
    repoRoot: root,
    log: (l) => lines.push(l),
    progressBar: false,
  };
}

/** Names, sizes and contents of every file under dir (what "left as it was" compares). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir)) out[f] = fs.readFileSync(path.join(dir, f), 'utf8');
  return out;
}

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-wd-'));
const dispose = (o: { runner: { model: { dispose(): void }; optimizer: { dispose(): void } } }) => {
  o.runner.model.dispose();
  o.runner.optimizer.dispose();
};

test('a run rejected while its config is read writes nothing, not even the work dir', async () => {
  const root = tmpRoot();
  const io = new MemoryCheckpointIO();
  const wd = path.join(root, 'work_dirs', 'c');
  await expect(trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, [], { runner: { type: 'EpocBasedRunner' } }))).rejects.toThrow(/runner.type/);
  await expect(trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, [], { model: { broken: true } }))).rejects.toThrow(/model.broken/);
  await expect(trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, [], { optimizer: { type: 'AdamW', lr: 1e-3, nonsense_policy: 1 }, lr_config: { policy: 'nope' } }))).rejects.toThrow();
  expect(fs.existsSync(wd)).toBe(false);
  expect(fs.readdirSync(root)).toEqual([]);
});

test('a fresh run into a used work dir refuses (naming --resume and --work-dir) and leaves it as it was; --overwrite replaces the old run', async () => {
  const root = tmpRoot();
  const io = new MemoryCheckpointIO();
  const lines: string[] = [];
  const first = await trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, lines));
  dispose(first);
  const wd = first.workDir;
  const before = snapshot(wd);
  expect(Object.keys(before)).toEqual(expect.arrayContaining(['epoch_1.ckpt', 'epoch_2.ckpt', 'last_checkpoint', 'c.yaml']));

  const err = await trainCli(['--task', 'toy_wd', '--config', 'c', '--cfg-options', 'x=1'], deps(root, io, lines, { runner: { type: 'EpochBasedRunner', max_epochs: 1 } })).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(/work dir .* holds 2 checkpoint\(s\) \(epoch_1.ckpt, epoch_2.ckpt\).*--resume.*--work-dir.*--overwrite/);
  expect((err as Error).message).not.toMatch(/\n/);
  expect(snapshot(wd)).toEqual(before);

  await expect(trainCli(['--task', 'toy_wd', '--config', 'c', '--resume', '--overwrite'], deps(root, io, lines))).rejects.toThrow(UsageError);
  expect(snapshot(wd)).toEqual(before);

  const again = await trainCli(['--task', 'toy_wd', '--config', 'c', '--overwrite'], deps(root, io, lines, { runner: { type: 'EpochBasedRunner', max_epochs: 1 } }));
  dispose(again);
  const files = fs.readdirSync(wd);
  expect(files).toContain('epoch_1.ckpt');
  expect(files).not.toContain('epoch_2.ckpt'); // the earlier run's later checkpoint is gone, so --resume cannot pick it
  expect(lines.some((l) => l.startsWith('--overwrite: removed epoch_1.ckpt, epoch_2.ckpt, last_checkpoint'))).toBe(true);
  expect(findLatestCheckpoint(wd)).toBe(path.join(wd, 'epoch_1.ckpt'));
});

test('last_checkpoint is relative: a copied work dir resumes from its own files (also from an old absolute pointer)', async () => {
  const root = tmpRoot();
  const io = new MemoryCheckpointIO();
  const out = await trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, []));
  dispose(out);
  expect(fs.readFileSync(path.join(out.workDir, 'last_checkpoint'), 'utf8')).toBe('epoch_2.ckpt\n');
  const copy = path.join(root, 'copied');
  fs.cpSync(out.workDir, copy, { recursive: true });
  expect(findLatestCheckpoint(copy)).toBe(path.join(copy, 'epoch_2.ckpt'));
  // pointers written before this change held the absolute path of the original
  fs.writeFileSync(path.join(copy, 'last_checkpoint'), path.join(out.workDir, 'epoch_1.ckpt') + '\n');
  expect(readCheckpointPointer(copy)).toBe(path.join(copy, 'epoch_1.ckpt'));
  expect(checkpointPointer(copy, path.join(copy, 'sub', 'a.ckpt'))).toBe(path.join('sub', 'a.ckpt'));
  expect(checkpointPointer(copy, '/elsewhere/a.ckpt')).toBe('/elsewhere/a.ckpt');
});

test('temp files of a killed checkpoint write are removed at start; a live writer\'s are kept', async () => {
  const root = tmpRoot();
  const io = new MemoryCheckpointIO();
  const lines: string[] = [];
  const wd = path.join(root, 'work_dirs', 'c');
  fs.mkdirSync(wd, { recursive: true });
  const deadPid = 4194305; // above Linux's largest pid_max, so no such process
  fs.writeFileSync(path.join(wd, `.epoch_3.ckpt.tmp-${deadPid}-k2j4a1`), 'half a checkpoint');
  fs.writeFileSync(path.join(wd, `last_checkpoint.tmp-${deadPid}`), 'half');
  fs.writeFileSync(path.join(wd, `.epoch_9.ckpt.tmp-${process.pid}-abcdef`), 'being written');
  const out = await trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, lines));
  dispose(out);
  const files = fs.readdirSync(wd);
  expect(files.filter((f) => f.includes('.tmp-'))).toEqual([`.epoch_9.ckpt.tmp-${process.pid}-abcdef`]);
  expect(lines.some((l) => l.startsWith('removed 2 temp file(s)'))).toBe(true);
  expect(removeStaleTempFiles(path.join(root, 'missing'))).toEqual([]);
});

test('--help is a help request, not a run', async () => {
  const root = tmpRoot();
  await expect(trainCli(['--task', 'toy_wd', '--help'], deps(root, new MemoryCheckpointIO(), []))).rejects.toThrow(HelpRequested);
  await expect(trainCli(['--task', 'toy_wd', '--confg', 'x'], deps(root, new MemoryCheckpointIO(), []))).rejects.toThrow(UsageError);
  expect(fs.readdirSync(root)).toEqual([]);
});

test('evaluating a checkpoint of another model (extra or missing layers) is an error unless --allow-partial-load', async () => {
  const root = tmpRoot();
  const io = new MemoryCheckpointIO();
  const lines: string[] = [];
  const out = await trainCli(['--task', 'toy_wd', '--config', 'c'], deps(root, io, lines));
  dispose(out);
  const ckpt = path.join(out.workDir, 'epoch_2.ckpt');
  // a deeper model's checkpoint: one more layer than the toy model has
  io.files.get(ckpt)!.model['layers.3.weight'] = tf.zeros([2, 2]);
  const evalDir = path.join(root, 'eval_out');
  const err = await evalCli(['--task', 'toy_wd', '--config', 'c', '--checkpoint', ckpt, '--work-dir', evalDir], deps(root, io, lines)).catch((e: Error) => e);
  expect((err as Error).message).toMatch(/epoch_2\.ckpt does not fit the model of configs\/c\.yaml: 1 of its weights have no place in the model \(e\.g\. layers\.3\.weight\).*--allow-partial-load/);
  expect(fs.existsSync(evalDir)).toBe(false);
  // a shallower one: a weight of the model is missing
  const model = io.files.get(ckpt)!.model;
  const [first] = Object.keys(model);
  model[first].dispose();
  delete model[first];
  await expect(evalCli(['--task', 'toy_wd', '--config', 'c', '--checkpoint', ckpt], deps(root, io, lines))).rejects.toThrow(/1 of the model's weights are not in it/);
  const res = await evalCli(['--task', 'toy_wd', '--config', 'c', '--checkpoint', ckpt, '--work-dir', evalDir, '--allow-partial-load'], deps(root, io, lines));
  expect(res.table).toBe('');
  expect(lines.some((l) => l.startsWith('warning: 1 missing key(s)'))).toBe(true);
});
