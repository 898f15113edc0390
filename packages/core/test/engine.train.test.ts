import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { initBackend } from '../src/node';
import { pickTask, taskEntry, type TaskTable } from '../src/engine/task_table';
import { trainCli, evalCli, parseCliArgs, type CliDeps } from '../src/engine/cli';
import type { TaskDefinition } from '../src/engine/types';
import type { ConfigNode } from '../src/registry/registry';
import { MemoryCheckpointIO, ToyDataset, ToyModel } from './helpers/toy';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const evaluated: number[] = [];
const toyTask: TaskDefinition<ToyModel> = {
  name: 'toy',
  buildModel: () => new ToyModel(),
  buildDataset: (_cfg, split) => new ToyDataset(split === 'train' ? 8 : 3),
  async evaluate(model, dataset) {
    expect(model.training).toBe(false);
    evaluated.push(dataset.length);
    const w = model.head.weight.dataSync()[0];
    return { metrics: { score: Math.abs(w), n: dataset.length }, table: `| score | ${Math.abs(w).toFixed(4)} |` };
  },
};
const TASKS: TaskTable = { toy: taskEntry(toyTask), other: async () => taskEntry(toyTask) };

const cfg: ConfigNode = {
  seed: 3,
  data: { samples_per_gpu: 2, train: {}, val: {}, test: {} },
  optimizer: { type: 'AdamW', lr: 1e-3, weight_decay: 1e-4, paramwise_cfg: { custom_keys: { norm: { decay_mult: 0 } } } },
  optimizer_config: { grad_clip: { max_norm: 10 } },
  lr_config: { policy: 'step', warmup: 'linear', warmup_iters: 2, warmup_ratio: 0.001, step: [2] },
  runner: { type: 'EpochBasedRunner', max_epochs: 3 },
  checkpoint_config: { interval: 1 },
  evaluation: { interval: 2 },
  log_config: { interval: 2 },
};

function deps(root: string, io: MemoryCheckpointIO, lines: string[]): CliDeps {
  return {
    loadConfig: (name, opts) => {
      const c = structuredClone(cfg);
      for (const o of opts.cfgOptions ?? []) {
        const [k, v] = o.split('=');
        const keys = k.split('.');
        let node = c as Record<string, unknown>;
        for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
        node[keys[keys.length - 1]] = JSON.parse(v);
      }
      return { cfg: c, file: `configs/${name}.yaml`, name };
    },
    checkpointIO: io,
    loadWeights: async (f) => io.load(f).model,
    tasks: TASKS,
    repoRoot: root,
    log: (l) => lines.push(l),
    progressBar: false,
  };
}

test('parseCliArgs', () => {
  expect(parseCliArgs(['--task', 'detection', '--config=x', '--resume', '--cfg-options', 'a.b=1', 'c=[1,2]', '--work-dir', 'w'])).toEqual({
    task: 'detection', config: 'x', resume: true, cfgOptions: ['a.b=1', 'c=[1,2]'], workDir: 'w', skipBadSamples: false, noValidate: false, overwrite: false, allowPartialLoad: false,
  });
  expect(() => parseCliArgs(['--confg', 'x'])).toThrow(/unknown option '--confg'/);
});

test('pickTask: entries are definitions or literal-import loaders; an unknown name lists the known tasks', async () => {
  expect(await pickTask(TASKS, 'toy')).toBe(toyTask);
  expect(await pickTask(TASKS, 'other')).toBe(toyTask);
  await expect(pickTask(TASKS, 'toyy')).rejects.toThrow(/unknown task 'toyy'.*did you mean 'toy'.*known tasks: toy, other/);
  await expect(pickTask(TASKS, 'constructor')).rejects.toThrow(/unknown task 'constructor'/);
});

test('trainCli: merged config dumped, JSON-lines log, checkpoints per epoch, eval every 2 epochs and at the end; evalCli reloads', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-train-'));
  const io = new MemoryCheckpointIO();
  const lines: string[] = [];
  const n0 = tf.memory().numTensors;
  const out = await trainCli(['--task', 'toy', '--config', 'toy_cfg', '--cfg-options', 'runner.max_epochs=3'], deps(root, io, lines));
  expect(out.workDir).toBe(path.join(root, 'work_dirs', 'toy_cfg'));
  const files = fs.readdirSync(out.workDir);
  expect(files).toEqual(expect.arrayContaining(['toy_cfg.yaml', 'epoch_1.ckpt', 'epoch_2.ckpt', 'epoch_3.ckpt', 'last_checkpoint']));
  expect(YAML.parse(fs.readFileSync(path.join(out.workDir, 'toy_cfg.yaml'), 'utf8')).runner).toEqual({ type: 'EpochBasedRunner', max_epochs: 3 });
  const log = files.find((f) => f.endsWith('.log.jsonl'))!;
  const recs = fs.readFileSync(path.join(out.workDir, log), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(recs.filter((r) => r.mode === 'val').map((r) => r.epoch)).toEqual([2, 3]);
  expect(recs.filter((r) => r.mode === 'train').map((r) => r.iter)).toEqual([2, 4, 6, 8, 10, 12]);
  expect(typeof recs.find((r) => r.mode === 'train').grad_norm).toBe('number');
  expect(evaluated).toEqual([3, 3]);
  expect(out.eval!.table).toMatch(/score/);
  expect(lines.some((l) => /^Epoch \[3\/3\]\[4\/4\]/.test(l))).toBe(true);
  expect(files.some((f) => /^eval_.*\.json$/.test(f))).toBe(true);
  const trained = out.runner.model.stateDict();
  out.runner.model.dispose();
  out.runner.optimizer.dispose();
  const held = [...io.files.values()].reduce((n, d) => n + Object.keys(d.model).length + Object.values(d.optimizer!.slots).reduce((m, x) => m + Object.keys(x).length, 0), 0);
  expect(tf.memory().numTensors).toBe(n0 + Object.keys(trained).length + held);

  // --resume on a finished run does no extra iteration
  const again = await trainCli(['--task', 'toy', '--config', 'toy_cfg', '--resume'], deps(root, io, lines));
  expect(again.runner.iter).toBe(12);
  expect(lines.some((l) => l.includes('resumed from') && l.includes('epoch_3.ckpt'))).toBe(true);
  again.runner.model.dispose();
  again.runner.optimizer.dispose();

  const res = await evalCli(['--task', 'toy', '--config', 'toy_cfg', '--checkpoint', path.join(out.workDir, 'epoch_3.ckpt')], deps(root, io, lines));
  expect(res.metrics.score).toBeCloseTo(Math.abs(trained['head.weight'].dataSync()[0]), 6);
  Object.values(trained).forEach((t) => t.dispose());
});
