import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../src/backend/backend';
import { trainCli, type CliDeps } from '../src/engine/cli';
import type { TaskDefinition } from '../src/engine/types';
import type { LogRecord } from '../src/engine/runner';
import type { ConfigNode } from '../src/registry/registry';
import {
  buildCurveSeries,
  curveChartSpec,
  defaultCurveKeys,
  mergeRunRecords,
  parseLogLines,
  type RunLog,
} from '../src/analysis/curves';
import { readRunLog } from '../src/analysis/log_files';
import { vegaLiteToSvg } from '../src/analysis/render_chart';
import { MemoryCheckpointIO, ToyDataset, ToyModel } from './helpers/toy';

/** Lines vega drew: every series of a line mark is its own `mark-line` group. */
const lineGroups = (svg: string): number => (svg.match(/<g class="mark-line role-mark/g) ?? []).length;
/** Text labels in the SVG (legend entries, titles, tick labels). */
const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

function fakeRun(label: string, scale: number): RunLog {
  const records: LogRecord[] = [];
  for (let e = 1; e <= 2; e++) {
    for (let inner = 5; inner <= 10; inner += 5) {
      const iter = (e - 1) * 10 + inner;
      records.push({ mode: 'train', epoch: e, iter, inner_iter: inner, lr: 1e-4 * iter, loss_cls: scale / iter, loss_bbox: scale / (2 * iter), loss: (1.5 * scale) / iter, time: 0.5, data_time: 0.01 });
    }
    records.push({ mode: 'val', epoch: e, iter: e * 10, bbox_mAP: 0.1 * e * scale, bbox_mAP_50: 0.2 * e * scale, bbox_mAP_s: 0.01 });
  }
  return { label, records };
}

test('parseLogLines: skips a partial last line, names file and line of a broken one; merge keeps the later file', () => {
  const good = '{"mode":"train","epoch":1,"iter":5,"loss":1}\n{"mode":"val","epoch":1,"iter":5,"bbox_mAP":0.2}\n';
  expect(parseLogLines(good + '{"mode":"tr', 'a.log.jsonl')).toHaveLength(2);
  expect(() => parseLogLines('{"mode":"tr\n' + good, 'a.log.jsonl')).toThrow(/^a\.log\.jsonl:1: not a JSON object/);
  expect(() => parseLogLines('{"epoch":1}\n', 'b.log.jsonl')).toThrow(/^b\.log\.jsonl:1: not a log record/);
  const first = parseLogLines(good, 'a');
  const resumed = parseLogLines('{"mode":"train","epoch":1,"iter":5,"loss":0.5}\n{"mode":"train","epoch":1,"iter":10,"loss":0.4}\n', 'b');
  const merged = mergeRunRecords([first, resumed]);
  expect(merged.map((r) => [r.mode, r.iter, r.loss ?? r.bbox_mAP])).toEqual([['train', 5, 0.5], ['val', 5, 0.2], ['train', 10, 0.4]]);
});

test('curve series: default keys, epoch axis, unknown key names the keys the logs have', () => {
  const run = fakeRun('a', 1);
  expect(defaultCurveKeys(run.records)).toEqual(['lr', 'loss_cls', 'loss_bbox', 'loss', 'bbox_mAP', 'bbox_mAP_50']);
  const [loss, map] = buildCurveSeries([run], ['loss', 'bbox_mAP'], 'epoch');
  expect(loss.x).toEqual([0.5, 1, 1.5, 2]);
  expect(loss.panel).toBe('loss');
  expect(map).toMatchObject({ mode: 'val', panel: 'evaluation', x: [1, 2], y: [0.1, 0.2] });
  expect(buildCurveSeries([run], ['loss'], 'iter')[0].x).toEqual([5, 10, 15, 20]);
  expect(() => buildCurveSeries([run], ['loss_mask'])).toThrow(/no log has the key 'loss_mask' \(keys in the logs: lr, .*bbox_mAP_s/);
});

test('chart SVG: one line per run and key, panels titled, legend labels run: key', async () => {
  const runs = [fakeRun('run A', 1), fakeRun('run B', 2)];
  const keys = ['loss_cls', 'loss', 'lr', 'bbox_mAP'];
  const svg = await vegaLiteToSvg(curveChartSpec(buildCurveSeries(runs, keys), { title: 'two runs' }));
  expect(lineGroups(svg)).toBe(runs.length * keys.length);
  const t = texts(svg);
  for (const label of ['run A: loss_cls', 'run B: loss', 'run A: lr', 'run B: bbox_mAP', 'loss', 'learning rate', 'evaluation', 'iteration', 'two runs']) {
    expect(t).toContain(label);
  }
  // One run: the legend shows the keys alone.
  const one = await vegaLiteToSvg(curveChartSpec(buildCurveSeries([runs[0]], ['loss', 'loss_bbox'])));
  expect(lineGroups(one)).toBe(2);
  expect(texts(one)).toEqual(expect.arrayContaining(['loss', 'loss_bbox']));
});

const evaluated: number[] = [];
const toyTask: TaskDefinition<ToyModel> = {
  name: 'toy-curves',
  buildModel: () => new ToyModel(),
  buildDataset: (_cfg, split) => new ToyDataset(split === 'train' ? 8 : 3),
  async evaluate(model, dataset) {
    evaluated.push(dataset.length);
    const w = model.head.weight.dataSync()[0];
    return { metrics: { bbox_mAP: Math.abs(w), bbox_mAP_s: 0 }, table: 'toy' };
  },
};

test('training writes curves.png/.svg into the work dir at each evaluation, with the log\'s curves', async () => {
  await initBackend({ quiet: true });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-curves-'));
  const cfg: ConfigNode = {
    seed: 1,
    data: { samples_per_gpu: 2, train: {}, val: {} },
    optimizer: { type: 'AdamW', lr: 1e-3, weight_decay: 1e-4 },
    lr_config: { policy: 'step', step: [2] },
    runner: { type: 'EpochBasedRunner', max_epochs: 2 },
    checkpoint_config: { interval: 2 },
    evaluation: { interval: 1 },
    log_config: { interval: 2 },
  };
  const io = new MemoryCheckpointIO();
  const lines: string[] = [];
  const deps: CliDeps = {
    loadConfig: (name) => ({ cfg: structuredClone(cfg), file: `${name}.yaml`, name }),
    checkpointIO: io,
    loadWeights: async (f) => io.load(f).model,
    tasks: { 'toy-curves': toyTask as never },
    repoRoot: root,
    log: (l) => lines.push(l),
    progressBar: false,
  };
  const out = await trainCli(['--task', 'toy-curves', '--config', 'toy_curves'], deps);
  out.runner.model.dispose();
  out.runner.optimizer.dispose();
  expect(evaluated).toEqual([3, 3]);
  const svg = fs.readFileSync(path.join(out.workDir, 'curves.svg'), 'utf8');
  const run = readRunLog(out.workDir);
  const keys = defaultCurveKeys(run.records);
  expect(keys).toEqual(['lr', 'loss_mse', 'loss_l1', 'loss', 'bbox_mAP']);
  expect(lineGroups(svg)).toBe(keys.length);
  // Both evaluations are drawn as points (the picture of the last evaluation includes the first).
  expect((svg.match(/<g class="mark-symbol role-mark/g) ?? []).length).toBe(1);
  const png = await sharp(path.join(out.workDir, 'curves.png')).metadata();
  expect(png.format).toBe('png');
  expect(png.width).toBeGreaterThan(500);
  expect(lines.some((l) => l.startsWith('warning: curve plot'))).toBe(false);
});
