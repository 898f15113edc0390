/**
 * Command-line front ends of tools/train.ts and tools/eval.ts. The config loader, checkpoint reader/writer and
 * task table are passed in (`fileCliDeps` in file_deps.ts gives the real ones), so tests can use in-memory ones.
 */
import { validateRunConfig } from '../config/run_schema';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StateDict } from '../nn/module';
import { HelpRequested, UsageError, parseArgs, wantsHelp } from '../config/cli_flags';
import { didYouMean } from '../utils/suggest';
import type { ConfigNode } from '../registry/registry';
import { pickTask, type TaskTable } from './task_table';
import { resolveWorkDir, runTraining, ensureSyntheticData, type TrainOutcome } from './train';
import type { CheckpointIO } from './runner';
import type { EvalResult, TaskContext } from './types';
import { LAUNCH_FLAGS, distributedEnvFromProcess, joinProcessGroup, launchWorkers, parseLaunchFlags, type LaunchFlags } from '../distributed/launch';

export interface CliArgs {
  task?: string;
  config?: string;
  workDir?: string;
  resume: boolean;
  checkpoint?: string;
  out?: string;
  cfgOptions: string[];
  skipBadSamples: boolean;
  noValidate: boolean;
  /** A fresh run may replace an earlier run's checkpoints in its work dir. */
  overwrite: boolean;
  /** Evaluate a checkpoint that lacks some of the model's weights or holds others (they stay random / unused). */
  allowPartialLoad: boolean;
  /** `--launcher gloo`: data-parallel over Gloo (distributed/launch.ts). */
  launcher?: 'gloo';
  launch?: LaunchFlags;
}

const CLI_FLAGS = ['task', 'out', 'skip-bad-samples', 'no-validate', 'overwrite', 'allow-partial-load', 'help', 'h', ...LAUNCH_FLAGS];

/** `--help` of tools/train.ts and tools/eval.ts (through nx: `<task>:train`, `<task>:test`). */
export const TRAIN_USAGE =
  'usage: train --task T --config NAME [--work-dir D] [--resume | --overwrite] [--cfg-options k=v ...] [--skip-bad-samples] [--no-validate]\n' +
  '  --resume          continue from the work dir\'s latest checkpoint\n' +
  '  --overwrite       a fresh run replaces the checkpoints of an earlier run in the work dir (otherwise it refuses)\n' +
  '  --skip-bad-samples  log and skip unreadable images and invalid annotations instead of stopping\n' +
  '  --launcher gloo --nproc N [--nnodes M --node-rank R --master-addr H --master-port P]\n' +
  '                    data-parallel training in N processes per machine over Gloo (README: multi-process training)';
export const EVAL_USAGE =
  'usage: eval --task T --config NAME --checkpoint FILE [--out results.json] [--work-dir D] [--cfg-options k=v ...] [--skip-bad-samples] [--allow-partial-load]\n' +
  '  --allow-partial-load  evaluate although the checkpoint does not fit the model (missing layers stay randomly initialised)';

/**
 * Parses `--task T --config C [--work-dir D] [--resume] [--checkpoint F] [--out O] [--cfg-options k=v ...]`
 * with core/config's `parseArgs`; any other flag is an error that lists the accepted ones.
 */
export function parseCliArgs(argv: string[]): CliArgs {
  const t = parseArgs(argv);
  for (const f of Object.keys(t.flags)) {
    if (!CLI_FLAGS.includes(f)) {
      throw new UsageError(`unknown option '--${f}'${didYouMean(f, CLI_FLAGS)} (options: --task --config --work-dir --resume --overwrite --checkpoint --out --cfg-options --skip-bad-samples --no-validate --allow-partial-load --launcher --nproc --nnodes --node-rank --master-addr --master-port --help)`);
    }
  }
  if (t.positional.length) throw new UsageError(`unexpected argument '${t.positional[0]}'`);
  if (typeof t.resume === 'string') throw new UsageError(`--resume takes no file: it resumes from the work dir's latest checkpoint (use --work-dir to pick the run)`);
  const str = (k: string): string | undefined => {
    const v = t.flags[k];
    if (typeof v === 'boolean') throw new UsageError(`--${k} needs a value`);
    return v;
  };
  const launcher = str('launcher');
  if (launcher !== undefined && launcher !== 'gloo' && launcher !== 'none') throw new UsageError(`--launcher must be 'gloo' or 'none', got '${launcher}'`);
  const usesLaunch = LAUNCH_FLAGS.some((f) => f !== 'launcher' && t.flags[f] !== undefined);
  if (usesLaunch && launcher !== 'gloo') throw new UsageError('--nproc / --nnodes / --node-rank / --master-addr / --master-port need --launcher gloo');
  return {
    launcher: launcher === 'gloo' ? 'gloo' : undefined,
    launch: launcher === 'gloo' ? parseLaunchFlags(t.flags) : undefined,
    task: str('task'),
    config: t.config,
    workDir: t.workDir,
    resume: t.resume,
    checkpoint: t.checkpoint,
    out: str('out'),
    cfgOptions: t.cfgOptions,
    skipBadSamples: t.flags['skip-bad-samples'] === true,
    noValidate: t.flags['no-validate'] === true,
    overwrite: t.flags.overwrite === true,
    allowPartialLoad: t.flags['allow-partial-load'] === true,
  };
}

/** What the tools need from core/config and core/checkpoint. */
export interface CliDeps {
  loadConfig(nameOrPath: string, opts: { cfgOptions?: string[] }): { cfg: ConfigNode; file: string; name: string; origins?: (dottedKey: string) => string };
  checkpointIO: CheckpointIO;
  /** `loadStateDictFile`: our checkpoints and `.pth` files -> PyTorch-layout state dict. */
  loadWeights(file: string): Promise<StateDict> | StateDict;
  /** The tasks `--task` may name (tools/task_table.ts). */
  tasks: TaskTable;
  repoRoot: string;
  log?: (line: string) => void;
  progressBar?: boolean;
}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`missing ${flag}`);
  return v;
}

/**
 * `--launcher gloo` in the launching process (not yet a worker): starts the workers, each running this same
 * tool with the same arguments, and returns the job's exit code; undefined when there is nothing to launch.
 */
export async function launchIfRequested(argv: string[], log?: (line: string) => void): Promise<number | undefined> {
  if (wantsHelp(argv)) return undefined;
  const args = parseCliArgs(argv);
  if (!args.launcher || distributedEnvFromProcess()) return undefined;
  return launchWorkers({ argv, flags: args.launch!, log });
}

export async function trainCli(argv: string[], deps: CliDeps): Promise<TrainOutcome> {
  if (wantsHelp(argv)) throw new HelpRequested(TRAIN_USAGE);
  const args = parseCliArgs(argv);
  const distEnv = args.launcher ? distributedEnvFromProcess() : undefined;
  if (args.launcher && !distEnv) throw new UsageError('--launcher gloo: this process is not a worker (no RANK / WORLD_SIZE / LITV2_DIST_STORE); start it through tools/train.ts, which launches the workers');
  if (args.resume && args.overwrite) throw new UsageError('give --resume (continue the run) or --overwrite (replace it), not both');
  const taskName = need(args.task, '--task');
  const task = await pickTask(deps.tasks, taskName);
  const loaded = deps.loadConfig(need(args.config, '--config'), { cfgOptions: args.cfgOptions });
  const out = await runTraining({
    task,
    cfg: loaded.cfg,
    configFile: loaded.file,
    configName: loaded.name,
    originOf: loaded.origins,
    repoRoot: deps.repoRoot,
    workDir: args.workDir,
    resume: args.resume,
    overwrite: args.overwrite,
    skipBadSamples: args.skipBadSamples,
    noValidate: args.noValidate,
    checkpointIO: deps.checkpointIO,
    loadWeights: deps.loadWeights,
    log: deps.log,
    progressBar: deps.progressBar,
    dist: distEnv && joinProcessGroup(distEnv),
  });
  if (out.eval && out.rank === 0) writeEvalJson(out.workDir, out.eval);
  return out;
}

function writeEvalJson(workDir: string, res: EvalResult): string {
  const file = path.join(workDir, `eval_${new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15)}.json`);
  fs.writeFileSync(file, JSON.stringify({ metrics: res.metrics }, null, 2) + '\n');
  return file;
}

/** Loads a checkpoint into the task's model and evaluates it on `data.test`; prints the table. */
export async function evalCli(argv: string[], deps: CliDeps): Promise<EvalResult> {
  const log = deps.log ?? ((l: string) => console.log(l));
  if (wantsHelp(argv)) throw new HelpRequested(EVAL_USAGE);
  const args = parseCliArgs(argv);
  if (args.launcher) throw new UsageError('--launcher gloo is for training (tools/train.ts); evaluation here runs in one process (training evaluates sharded)');
  const taskName = need(args.task, '--task');
  const task = await pickTask(deps.tasks, taskName);
  const loaded = deps.loadConfig(need(args.config, '--config'), { cfgOptions: args.cfgOptions });
  validateRunConfig(loaded.cfg, { file: loaded.file, originOf: loaded.origins });
  const ckpt = path.resolve(need(args.checkpoint, '--checkpoint'));
  if (!fs.existsSync(ckpt)) throw new Error(`checkpoint file not found: ${ckpt}`);
  await ensureSyntheticData(loaded.cfg, deps.repoRoot, log);
  const ctx: TaskContext = { configFile: loaded.file, repoRoot: deps.repoRoot, skipBadSamples: args.skipBadSamples, log };
  const model = await task.buildModel(loaded.cfg, ctx);
  const sd = await deps.loadWeights(ckpt);
  try {
    const r = model.loadStateDict(sd, { strict: false });
    if (r.missingKeys.length === model.namedEntries().length) throw new Error(`${ckpt}: none of the model's weights are in this checkpoint (unexpected keys e.g. ${r.unexpectedKeys.slice(0, 3).join(', ')})`);
    // A checkpoint of another depth or width would otherwise be evaluated with random layers and a 0 exit.
    if ((r.missingKeys.length || r.unexpectedKeys.length) && !args.allowPartialLoad) {
      const parts = [
        r.missingKeys.length ? `${r.missingKeys.length} of the model's weights are not in it (e.g. ${r.missingKeys.slice(0, 3).join(', ')})` : '',
        r.unexpectedKeys.length ? `${r.unexpectedKeys.length} of its weights have no place in the model (e.g. ${r.unexpectedKeys.slice(0, 3).join(', ')})` : '',
      ].filter(Boolean);
      throw new Error(
        `${ckpt} does not fit the model of ${loaded.file}: ${parts.join('; ')}. It was trained with another config (depths, widths, classes): ` +
          'evaluate it with that config, or pass --allow-partial-load to evaluate anyway with the missing layers randomly initialised',
      );
    }
    if (r.missingKeys.length) log(`warning: ${r.missingKeys.length} missing key(s): ${r.missingKeys.slice(0, 8).join(', ')}`);
    if (r.unexpectedKeys.length) log(`warning: ${r.unexpectedKeys.length} unexpected key(s): ${r.unexpectedKeys.slice(0, 8).join(', ')}`);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
  const workDir = resolveWorkDir({ cfg: loaded.cfg, workDir: args.workDir, configName: loaded.name, repoRoot: deps.repoRoot });
  const ds = await task.buildDataset(loaded.cfg, 'test', ctx);
  // Created only once the config, weights and data have been read without error.
  fs.mkdirSync(workDir, { recursive: true });
  model.eval();
  const res = await task.evaluate(model, ds, loaded.cfg, { workDir, log, out: args.out && path.resolve(args.out), skipBadSamples: args.skipBadSamples });
  log(res.table);
  log(`metrics written to ${writeEvalJson(workDir, res)}`);
  return res;
}
