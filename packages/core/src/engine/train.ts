/**
 * Config -> trained model, the library behind tools/train.ts and tools/eval.ts. Reads the mmdet/mmseg 2.x
 * top-level keys: `optimizer`, `optimizer_config.grad_clip`, `lr_config`, `runner` (EpochBasedRunner
 * max_epochs | IterBasedRunner max_iters), `checkpoint_config` (interval, by_epoch, max_keep_ckpts),
 * `evaluation` (interval, by_epoch), `log_config.interval`, `data.samples_per_gpu`, `seed`, `work_dir`,
 * `resume_from`, `load_from`, and `synthetic` (generator options of the built-in dataset, created if missing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dumpConfig } from '../config/dump_file';
import { validateRunConfig } from '../config/run_schema';
import { HOOKS } from '../registry/registries';
import { seedEverything } from '../nn/random';
import { setBatchNormSync } from '../nn/sync_batch_norm';
import type { StateDict } from '../nn/module';
import { ConfigError, type ConfigNode } from '../registry/registry';
import { DataLoader } from '../data/dataloader';
import { makeSynthetic } from '../data/synthetic';
import { buildOptimizer } from './optimizer';
import { buildLrSchedule } from './lr_schedule';
import { Runner, findLatestCheckpoint, type CheckpointIO } from './runner';
import { LoggerHook, JsonLinesLoggerHook } from './logger_hooks';
import { CheckpointHook } from './checkpoint_hook';
import { EvalHook } from './eval_hook';
import type { Hook } from './runner';
import { checkFreshWorkDir, clearCheckpoints, removeStaleTempFiles } from './work_dir';
import { CurvePlotHook } from '../analysis/curve_hook';
import type { EvalResult, TaskContext, TaskDefinition } from './types';
import type { ProcessGroup } from '../distributed/gloo';
import { broadcastModuleState, makeGradientAverager } from '../distributed/data_parallel';
import { configHash } from '../distributed/config_hash';

export interface TrainJob {
  task: TaskDefinition;
  /** The fully merged config. */
  cfg: ConfigNode;
  configFile: string;
  /** Config name (work dir default `work_dirs/<name>`). */
  configName: string;
  /** The file (or `--cfg-options`) that set a dotted key, for error messages. */
  originOf?: (dottedKey: string) => string;
  repoRoot: string;
  workDir?: string;
  /** Continue from the work dir's latest checkpoint (if any). */
  resume?: boolean;
  /** A fresh run may replace the checkpoints of an earlier run in the same work dir (they are removed). */
  overwrite?: boolean;
  skipBadSamples?: boolean;
  /** Skip the evaluation hook. */
  noValidate?: boolean;
  checkpointIO: CheckpointIO;
  /** Loads weights only (`load_from`). */
  loadWeights?: (file: string) => Promise<StateDict> | StateDict;
  log?: (line: string) => void;
  progressBar?: boolean;
  /** Extra hooks (tests). */
  hooks?: Hook[];
  /**
   * Data-parallel training in this process group: each rank trains on its shard with gradients averaged over
   * ranks; rank 0 alone writes logs, checkpoints, the merged config and evaluation results.
   */
  dist?: ProcessGroup;
}

const obj = (v: unknown): ConfigNode => (v && typeof v === 'object' && !Array.isArray(v) ? (v as ConfigNode) : {});

/** Generates the synthetic dataset when the config carries a `synthetic` block and the data is missing or stale. */
export async function ensureSyntheticData(cfg: ConfigNode, repoRoot: string, log: (l: string) => void): Promise<void> {
  const s = cfg.synthetic;
  if (!s) return;
  const o = obj(s);
  const num = (k: string) => (o[k] === undefined ? undefined : Number(o[k]));
  await makeSynthetic(
    {
      out: path.resolve(repoRoot, String(o.out ?? 'data/synthetic')),
      seed: num('seed'),
      numTrain: num('num_train'),
      numVal: num('num_val'),
      size: num('size'),
      numClasses: num('num_classes'),
      minObjects: num('min_objects'),
      maxObjects: num('max_objects'),
      minScale: num('min_scale'),
      maxScale: num('max_scale'),
    },
    log,
  );
}

/** `work_dirs/<name>` under the repo root unless `--work-dir` or `work_dir` says otherwise. */
export function resolveWorkDir(job: { cfg: ConfigNode; workDir?: string; configName: string; repoRoot: string }): string {
  return path.resolve(job.repoRoot, job.workDir ?? (job.cfg.work_dir as string | undefined) ?? path.join('work_dirs', job.configName));
}

export interface TrainOutcome {
  workDir: string;
  runner: Runner;
  /** Result of the last evaluation (if validation ran). */
  eval?: EvalResult;
  /** This process's rank (0 without data parallelism). */
  rank: number;
}

/** `custom_hooks: [{type: CurvePlotHook, ...}]`, each built through HOOKS. */
function buildCustomHooks(list: unknown, file: string): Hook[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new ConfigError('custom_hooks must be a list of {type: ...} hooks', { file, path: 'custom_hooks' });
  return list.map((node, i) => HOOKS.build(node as ConfigNode, undefined, { file, path: `custom_hooks.${i}` }) as Hook);
}

export async function runTraining(job: TrainJob): Promise<TrainOutcome> {
  const dist = job.dist;
  const rank = dist?.rank ?? 0;
  const worldSize = dist?.worldSize ?? 1;
  const lead = rank === 0;
  // Only rank 0 talks; the others' errors still reach stderr through the tool's error report.
  const log = lead ? (job.log ?? ((l: string) => console.log(l))) : () => {};
  const { cfg, task } = job;
  if (dist && worldSize > 1) {
    // Every rank must train the same merged config (same files, same --cfg-options).
    const hashes = dist.allgatherJson(configHash(cfg));
    const bad = hashes.findIndex((h) => h !== hashes[0]);
    if (bad >= 0) throw new ConfigError(`rank ${bad}'s merged config differs from rank 0's (hash ${hashes[bad].slice(0, 12)} vs ${hashes[0].slice(0, 12)}): every rank must read the same config and --cfg-options`, { file: job.configFile, path: '' });
  }
  const file = job.configFile;
  // Every section the engine reads is checked before anything else happens (model and datasets: at build).
  validateRunConfig(cfg, { file, originOf: job.originOf });
  const workDir = resolveWorkDir(job);
  // Nothing is written (work dir, merged config, data) until the config has been read in full, every part of
  // the run has been built and the work dir is known not to hold another run's checkpoints.
  const seed = cfg.seed === undefined || cfg.seed === null ? 0 : Number(cfg.seed);
  seedEverything(seed);
  const resumeFile = cfg.resume_from
    ? path.resolve(job.repoRoot, String(cfg.resume_from))
    : job.resume
      ? findLatestCheckpoint(workDir)
      : undefined;
  if (cfg.resume_from && !fs.existsSync(resumeFile!)) throw new ConfigError(`resume_from: checkpoint not found: ${resumeFile}`, { file, path: 'resume_from' });
  if (!resumeFile && !job.resume && lead) checkFreshWorkDir(workDir, { overwrite: job.overwrite });

  const ctx: TaskContext = { configFile: file, repoRoot: job.repoRoot, skipBadSamples: Boolean(job.skipBadSamples), log };
  const model = await task.buildModel(cfg, ctx);
  if (!cfg.optimizer) throw new ConfigError(`missing 'optimizer'`, { file, path: 'optimizer' });
  const optimizer = buildOptimizer(model, scaledOptimizerConfig(cfg, worldSize, file, log), file);
  const lrSchedule = buildLrSchedule(obj(cfg.lr_config), optimizer.baseLr, file);
  const runnerCfg = obj(cfg.runner);
  let maxEpochs: number | undefined;
  let maxIters: number | undefined;
  if (runnerCfg.type === 'EpochBasedRunner') maxEpochs = Number(runnerCfg.max_epochs);
  else if (runnerCfg.type === 'IterBasedRunner') maxIters = Number(runnerCfg.max_iters);
  else throw new ConfigError(`runner.type must be EpochBasedRunner or IterBasedRunner, got '${String(runnerCfg.type)}'`, { file, path: 'runner.type' });
  const byEpochRunner = maxEpochs !== undefined;
  const ckCfg = obj(cfg.checkpoint_config);
  const evCfg = obj(cfg.evaluation);
  const gradClip = obj(cfg.optimizer_config).grad_clip as { max_norm: number; norm_type?: number } | null | undefined;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  const hooks: Hook[] = [
    ...(lead
      ? [
          new LoggerHook({ interval: Number(obj(cfg.log_config).interval ?? 50), log, progressBar: job.progressBar }),
          new JsonLinesLoggerHook(path.join(workDir, `${stamp}.log.jsonl`)),
          new CheckpointHook({ interval: Number(ckCfg.interval ?? 1), byEpoch: Boolean(ckCfg.by_epoch ?? byEpochRunner), maxKeep: ckCfg.max_keep_ckpts as number | undefined }),
          ...buildCustomHooks(cfg.custom_hooks, file),
        ]
      : []),
    ...(job.hooks ?? []),
  ];

  // The built-in synthetic dataset is generated (outside the work dir) once the config is known to be sound.
  if (lead) await ensureSyntheticData(cfg, job.repoRoot, log);
  dist?.barrier(); // the data exists before any rank reads it
  if (!resumeFile) {
    // A fresh run: pretrained sub-model weights (init_cfg), then load_from on top.
    await model.loadInitCheckpoints(log);
    if (cfg.load_from) {
      if (!job.loadWeights) throw new Error('load_from needs a weight loader');
      const sd = await job.loadWeights(String(cfg.load_from));
      const r = model.loadStateDict(sd, { strict: false });
      for (const t of Object.values(sd)) t.dispose();
      log(`loaded ${cfg.load_from} (missing ${r.missingKeys.length}, unexpected ${r.unexpectedKeys.length})`);
    }
  }
  const trainSet = await task.buildDataset(cfg, 'train', ctx);
  const data = obj(cfg.data);
  const bs = Number(data.samples_per_gpu ?? 2);
  const loader = new DataLoader(trainSet, {
    batchSize: bs,
    shuffle: true,
    collate: task.collate?.bind(task),
    groupByAspect: Boolean(data.group_by_aspect ?? false),
    dropLast: Boolean(data.drop_last ?? false),
    skipBadSamples: job.skipBadSamples,
    log,
    shard: worldSize > 1 ? { rank, worldSize } : undefined,
  });
  let evalHook: EvalHook | undefined;
  if (!job.noValidate && obj(cfg.data).val) {
    const valSet = await task.buildDataset(cfg, 'val', ctx);
    // Data-parallel: every rank evaluates its shard; rank 0 gathers the results and computes the metrics once.
    const shard = dist && worldSize > 1 ? { rank, worldSize, gather: <T>(v: T): T[] => dist.allgatherJson(v) } : undefined;
    evalHook = new EvalHook({ task, dataset: valSet, cfg, interval: Number(evCfg.interval ?? 1), byEpoch: Boolean(evCfg.by_epoch ?? byEpochRunner), skipBadSamples: job.skipBadSamples, shard });
    hooks.push(evalHook);
    // Redraws work_dir/curves.png after each evaluation.
    if (lead && !hooks.some((h) => h instanceof CurvePlotHook)) hooks.push(new CurvePlotHook({ log }));
  }
  const runner = new Runner({
    model,
    optimizer,
    lrSchedule,
    trainLoader: loader,
    maxEpochs,
    maxIters,
    workDir,
    hooks,
    gradClip: gradClip ?? undefined,
    checkpointIO: job.checkpointIO,
    log,
    meta: { config: job.configName, task: task.name, world_size: worldSize, samples_per_gpu: bs },
    reduceGrads: dist && worldSize > 1 ? makeGradientAverager(dist, optimizer.params.map((p) => p.name), new Map(optimizer.params.map((p) => [p.name, p.variable.shape]))) : undefined,
  });
  if (resumeFile) {
    await runner.resume(resumeFile);
    // Mid-epoch positions count batches of the saving run's total batch; another total batch would land elsewhere.
    const m = runner.resumedMeta ?? {};
    const savedTotal = Number(m.world_size ?? 1) * Number(m.samples_per_gpu ?? bs);
    if (runner.innerIter > 0 && savedTotal !== worldSize * bs) {
      throw new ConfigError(`${resumeFile} was saved mid-epoch with a total batch of ${savedTotal} (${String(m.world_size ?? 1)} rank(s)); this run's total batch is ${worldSize * bs}: resume it with the same ranks x samples_per_gpu, or from an end-of-epoch checkpoint`, { file, path: 'resume_from' });
    }
  } else if (job.resume && !cfg.resume_from) log(`--resume: no checkpoint in ${workDir}, starting from scratch`);
  // Every rank starts (and resumes) from rank 0's weights.
  if (dist) broadcastModuleState(dist, model);
  // norm_cfg SyncBN layers use the statistics of the global batch.
  if (dist && worldSize > 1) setBatchNormSync((buf) => dist.allreduceSum(buf));

  // From here on the run writes to its work dir (rank 0 only).
  if (lead) {
    fs.mkdirSync(workDir, { recursive: true });
    const stale = removeStaleTempFiles(workDir);
    if (stale.length) log(`removed ${stale.length} temp file(s) left by an interrupted write: ${stale.join(', ')}`);
    if (!resumeFile && job.overwrite) {
      const removed = clearCheckpoints(workDir);
      if (removed.length) log(`--overwrite: removed ${removed.join(', ')} of the earlier run in ${workDir}`);
    }
    dumpConfig(cfg, path.join(workDir, `${job.configName}.yaml`), { header: `merged config of ${job.configFile}` });
  }
  log(`training ${task.name} '${job.configName}': ${runner.mode === 'epoch' ? `${runner.maxEpochs} epochs` : `${runner.maxIters} iterations`} ` +
    `of ${runner.itersPerEpoch} batches x ${bs} images${worldSize > 1 ? ` per rank x ${worldSize} ranks` : ''}; work dir ${workDir}`);
  try {
    await runner.run();
  } finally {
    if (dist && worldSize > 1) setBatchNormSync(undefined);
  }
  dist?.barrier(); // no rank exits (closing its connections) while another still evaluates or saves
  return { workDir, runner, eval: evalHook?.lastResult, rank };
}

/**
 * The optimizer config, its lr scaled as mmdet 2.x `auto_scale_lr` does when `auto_scale_lr.enable` is true:
 * lr x (world size x samples_per_gpu) / auto_scale_lr.base_batch_size (the total batch the lr was tuned for).
 */
export function scaledOptimizerConfig(cfg: ConfigNode, worldSize: number, file: string, log: (l: string) => void): ConfigNode {
  const opt = obj(cfg.optimizer);
  const auto = obj(cfg.auto_scale_lr);
  if (!auto.enable) return opt;
  const base = Number(auto.base_batch_size);
  if (!(base > 0)) throw new ConfigError(`auto_scale_lr.base_batch_size must be a positive number, got '${String(auto.base_batch_size)}'`, { file, path: 'auto_scale_lr.base_batch_size' });
  const total = worldSize * Number(obj(cfg.data).samples_per_gpu ?? 2);
  const lr = Number(opt.lr) * (total / base);
  log(`auto_scale_lr: total batch ${total} (${worldSize} x ${Number(obj(cfg.data).samples_per_gpu ?? 2)}) vs base ${base}: lr ${opt.lr} -> ${lr}`);
  return { ...opt, lr };
}
