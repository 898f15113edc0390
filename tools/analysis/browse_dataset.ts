/**
 * `detection:browse-dataset` / `segmentation:browse-dataset` (mmdet/mmseg tools/misc/browse_dataset.py):
 *   --config NAME [--split train|val|test] [--num 20] [--out-dir DIR] [--seed 0] [--cfg-options k=v ...]
 * Runs the split's pipeline (random augmentations included, seeded) and writes one PNG per sample with the
 * ground truth drawn on it: boxes + class names, instance polygons, semantic label maps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { drawSample, ensureSyntheticData, mixSeed, pickTask, parseArgs, resolveWorkDir, Rng, toolFlags, UsageError, type Split, type TaskContext } from '@litv2/core/node';
import { toolDeps } from '../task_table';

const USAGE = '--task detection|segmentation --config NAME [--split train|val|test] [--num 20] [--out-dir DIR] [--seed 0] [--cfg-options k=v ...]';

export async function main(argv: string[], log: (l: string) => void = console.log): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['task', 'config', 'cfg-options', 'split', 'num', 'out-dir', 'seed', 'work-dir'], usage: USAGE });
  const taskName = f.string('task', { required: true });
  const split = (f.string('split') ?? 'train') as Split;
  if (!['train', 'val', 'test'].includes(split)) f.fail(`--split must be train, val or test (got '${split}')`);
  const num = f.number('num', 20, { integer: true, min: 1 });
  const seed = f.number('seed', 0, { integer: true, min: 0 });
  const deps = toolDeps();
  if (!(taskName in deps.tasks)) throw new UsageError(`--task must be one of ${Object.keys(deps.tasks).join(', ')} (got '${taskName}'); usage: ${USAGE}`);
  const task = await pickTask(deps.tasks, taskName);
  const loaded = deps.loadConfig(f.string('config', { required: true }), { cfgOptions: f.cfgOptions });
  await ensureSyntheticData(loaded.cfg, deps.repoRoot, log);
  const ctx: TaskContext = { configFile: loaded.file, repoRoot: deps.repoRoot, skipBadSamples: false, log };
  const ds = await task.buildDataset(loaded.cfg, split, ctx);
  const workDir = resolveWorkDir({ cfg: loaded.cfg, workDir: f.string('work-dir'), configName: loaded.name, repoRoot: deps.repoRoot });
  const outDir = path.resolve(f.string('out-dir') ?? path.join(workDir, `browse_${split}`));
  fs.mkdirSync(outDir, { recursive: true });
  const n = Math.min(num, ds.length);
  let written = 0;
  let objects = 0;
  for (let i = 0; i < n; i++) {
    const sample = await ds.get(i, new Rng(mixSeed(seed, i)));
    if (!sample) {
      log(`sample ${i} (${ds.info(i).filename}) was dropped by the pipeline`);
      continue;
    }
    const png = await drawSample(sample, ds.classes);
    const name = `${String(i).padStart(4, '0')}_${path.basename(sample.info.filename).replace(/\.[^.]+$/, '')}.png`;
    fs.writeFileSync(path.join(outDir, name), png);
    written++;
    objects += sample.gt_labels?.length ?? 0;
  }
  log(`wrote ${written} picture(s) of '${loaded.name}' ${split} samples after the pipeline (${objects} boxes) to ${outDir}`);
  return 0;
}
