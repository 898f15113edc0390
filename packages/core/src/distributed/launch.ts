/**
 * `--launcher gloo`: the launcher (like torchrun / mmdet's dist_train.sh) starts `--nproc` worker processes of
 * the same tool on this machine; each worker finds its rank in the environment and joins the process group.
 *
 * Environment of a worker (set by the launcher, or by hand / another launcher on each machine):
 *   RANK, WORLD_SIZE, LOCAL_RANK          this process's place in the job
 *   LITV2_DIST_STORE                      rendezvous: a directory (Gloo FileStore; shared across machines) or
 *                                         redis://host:port (Gloo RedisStore, e.g. Debian's redis-server)
 *   LITV2_DIST_PREFIX                     key prefix of this run in the store (a fresh one per run)
 *   LITV2_DIST_HOST                       the address other ranks reach this one at
 *   LITV2_DIST_TIMEOUT                    seconds a rendezvous or collective may wait (default 1800, as torch)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../config/cli_flags';
import { loadGlooAddon, ProcessGroup } from './gloo';

export interface DistributedEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  store: string;
  prefix: string;
  hostname: string;
  timeoutMs: number;
}

/** Flags of the launcher (the rest of the command line goes to every worker unchanged). */
export interface LaunchFlags {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr?: string;
  masterPort?: number;
}

export const LAUNCH_FLAGS = ['launcher', 'nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

/** Reads the launcher flags (`--flag value`), falling back to NPROC / NNODES / NODE_RANK / MASTER_ADDR / MASTER_PORT. */
export function parseLaunchFlags(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): LaunchFlags {
  const int = (flag: string, envName: string, def: number | undefined, min: number): number | undefined => {
    const v = flags[flag] ?? env[envName];
    if (v === undefined) return def;
    const n = Number(v);
    if (typeof v === 'boolean' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag} (or ${envName}) must be an integer >= ${min}, got '${String(v)}'`);
    return n;
  };
  const nnodes = int('nnodes', 'NNODES', 1, 1)!;
  const nodeRank = int('node-rank', 'NODE_RANK', 0, 0)!;
  if (nodeRank >= nnodes) throw new UsageError(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  const addr = flags['master-addr'] ?? env.MASTER_ADDR;
  if (typeof addr === 'boolean') throw new UsageError('--master-addr needs a value');
  return { nproc: int('nproc', 'NPROC', 1, 1)!, nnodes, nodeRank, masterAddr: addr, masterPort: int('master-port', 'MASTER_PORT', undefined, 1) };
}

/** The worker's place in the job, from its environment; undefined when this process is not a worker. */
export function distributedEnvFromProcess(env: NodeJS.ProcessEnv = process.env): DistributedEnv | undefined {
  if (env.RANK === undefined || env.WORLD_SIZE === undefined || env.LITV2_DIST_STORE === undefined) return undefined;
  const rank = Number(env.RANK);
  const worldSize = Number(env.WORLD_SIZE);
  if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new UsageError(`RANK=${env.RANK} / WORLD_SIZE=${env.WORLD_SIZE}: RANK must be an integer in [0, WORLD_SIZE)`);
  }
  const timeoutS = Number(env.LITV2_DIST_TIMEOUT ?? 1800);
  if (!(timeoutS > 0)) throw new UsageError(`LITV2_DIST_TIMEOUT must be a positive number of seconds, got '${env.LITV2_DIST_TIMEOUT}'`);
  return {
    rank,
    worldSize,
    localRank: Number(env.LOCAL_RANK ?? 0),
    store: env.LITV2_DIST_STORE,
    prefix: env.LITV2_DIST_PREFIX ?? 'litv2',
    hostname: env.LITV2_DIST_HOST ?? (worldSize > 1 && env.NNODES && Number(env.NNODES) > 1 ? os.hostname() : '127.0.0.1'),
    timeoutMs: timeoutS * 1000,
  };
}

/** Joins the process group this worker's environment describes. */
export function joinProcessGroup(d: DistributedEnv): ProcessGroup {
  return new ProcessGroup({ rank: d.rank, worldSize: d.worldSize, store: d.store, prefix: d.prefix, hostname: d.hostname, timeoutMs: d.timeoutMs });
}

export interface LaunchOptions {
  /** The tool's own arguments (passed to every worker unchanged). */
  argv: string[];
  flags: LaunchFlags;
  /** The script the workers run (default: this process's script). */
  script?: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** After one worker fails, how long the others get to stop on their own before they are killed (ms). */
  graceMs?: number;
}

/**
 * Starts this node's workers and waits for them. Returns the exit code of the job: 0 when every worker
 * succeeded, else the first failing worker's code (its rank is logged); the others are stopped.
 */
export async function launchWorkers(o: LaunchOptions): Promise<number> {
  loadGlooAddon(); // fails here, once, with what to install
  const log = o.log ?? ((l: string) => console.error(l));
  const env = o.env ?? process.env;
  const { nproc, nnodes, nodeRank } = o.flags;
  const worldSize = nproc * nnodes;
  let store = env.LITV2_DIST_STORE;
  let tmpStore: string | undefined;
  if (!store) {
    if (nnodes > 1) {
      if (!o.flags.masterAddr || !o.flags.masterPort) throw new UsageError('--nnodes > 1 needs --master-addr and --master-port (a redis-server every node reaches) or LITV2_DIST_STORE (a shared directory)');
      store = `redis://${o.flags.masterAddr}:${o.flags.masterPort}`;
    } else {
      store = tmpStore = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-gloo-'));
    }
  }
  const prefix = env.LITV2_DIST_PREFIX ?? (tmpStore ? 'litv2' : `litv2-${o.flags.masterPort ?? 0}`);
  const script = o.script ?? process.argv[1];
  const children: ChildProcess[] = [];
  let firstFailure: { rank: number; code: number } | undefined;
  const exits = Array.from({ length: nproc }, (_, local) => {
    const rank = nodeRank * nproc + local;
    const child = spawn(process.execPath, [...process.execArgv, script, ...o.argv], {
      stdio: 'inherit',
      env: { ...env, RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(local), NNODES: String(nnodes), LITV2_DIST_STORE: store, LITV2_DIST_PREFIX: prefix },
    });
    children.push(child);
    return new Promise<number>((resolve) => {
      child.on('exit', (code, signal) => {
        const c = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
        if (c !== 0 && !firstFailure) {
          firstFailure = { rank, code: c };
          log(`[launcher] rank ${rank} exited with ${signal ? `signal ${signal}` : `code ${c}`}; stopping the other ranks`);
          // The others fail at their next collective (the peer's connection closed); kill any that linger.
          setTimeout(() => children.forEach((ch) => ch.exitCode === null && ch.signalCode === null && ch.kill('SIGTERM')), o.graceMs ?? 10_000).unref();
        }
        resolve(c);
      });
    });
  });
  await Promise.all(exits);
  if (tmpStore) fs.rmSync(tmpStore, { recursive: true, force: true });
  return firstFailure ? firstFailure.code : 0;
}
