/**
 * A process group over Gloo (the collective library behind PyTorch's CPU backend), through the add-on in
 * packages/core/native-gloo. Ranks meet through a rendezvous store: Gloo's FileStore on a directory every rank
 * can reach (one machine, or a shared file system), or its RedisStore (Debian's redis-server) across machines.
 * Collectives are synchronous and bounded by `timeoutMs`: a rank that died makes the others fail with an error
 * instead of hanging.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

interface GlooAddon {
  connect(o: { rank: number; size: number; prefix: string; hostname: string; timeoutMs: number; fileStore?: string; redisHost?: string; redisPort?: number }): unknown;
  allreduceSum(h: unknown, data: Float32Array): void;
  broadcast(h: unknown, data: ArrayBufferView, root: number): void;
  allgather(h: unknown, input: Uint8Array, output: Uint8Array): void;
  barrier(h: unknown): void;
}

export const GLOO_ADDON_RELPATH = path.join('packages', 'core', 'native-gloo', 'build', 'Release', 'litv2_gloo.node');
const INSTALL_HINT = 'install Gloo with `apt-get install -y libgloo-dev` (tools/setup.sh does it as root), then `node tools/build-native-gloo.mjs`';

let cachedAddon: GlooAddon | undefined;

/** Loads the Gloo add-on (`LITV2_GLOO_ADDON`, else found above the working directory); throws saying what to install. */
export function loadGlooAddon(): GlooAddon {
  if (cachedAddon) return cachedAddon;
  let file = process.env.LITV2_GLOO_ADDON;
  if (!file) {
    const starts = [process.cwd(), ...(typeof __dirname !== 'undefined' ? [__dirname] : [])];
    for (const start of starts) {
      for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, GLOO_ADDON_RELPATH))) {
          file = path.join(dir, GLOO_ADDON_RELPATH);
          break;
        }
        if (path.dirname(dir) === dir) break;
      }
      if (file) break;
    }
  }
  if (!file || !fs.existsSync(file)) throw new Error(`--launcher gloo needs the Gloo add-on (${GLOO_ADDON_RELPATH} not found): ${INSTALL_HINT}`);
  try {
    cachedAddon = createRequire(path.join(process.cwd(), 'noop.js'))(file) as GlooAddon;
  } catch (e) {
    throw new Error(`--launcher gloo: cannot load ${file} (${(e as Error).message.split('\n')[0]}): ${INSTALL_HINT}`);
  }
  return cachedAddon;
}

export interface GroupOptions {
  rank: number;
  worldSize: number;
  /** Rendezvous: a directory for Gloo's FileStore, or `redis://host:port` for its RedisStore. */
  store: string;
  /** Keys of this run inside the store (several runs may share one store). */
  prefix: string;
  /** Address other ranks reach this one at (default: this machine's host name). */
  hostname?: string;
  /** Bound on rendezvous and on every collective (ms). */
  timeoutMs: number;
}

/** The collectives data-parallel training needs, over one Gloo context. */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  private readonly handle: unknown;
  private readonly addon: GlooAddon;

  constructor(readonly opts: GroupOptions) {
    this.rank = opts.rank;
    this.worldSize = opts.worldSize;
    this.addon = loadGlooAddon();
    const redis = /^redis:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(opts.store);
    if (!redis) fs.mkdirSync(opts.store, { recursive: true });
    const base = { rank: opts.rank, size: opts.worldSize, prefix: opts.prefix, hostname: opts.hostname ?? os.hostname(), timeoutMs: opts.timeoutMs };
    try {
      this.handle = this.addon.connect(redis ? { ...base, redisHost: redis[1], redisPort: Number(redis[2] ?? 6379) } : { ...base, fileStore: opts.store });
    } catch (e) {
      throw new Error(`rank ${opts.rank}: rendezvous of ${opts.worldSize} ranks through ${opts.store} failed within ${opts.timeoutMs / 1000} s: ${oneLine(e)}`);
    }
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      throw new Error(`rank ${this.rank}: ${what} failed (another rank stopped, died or timed out after ${this.opts.timeoutMs / 1000} s): ${oneLine(e)}`);
    }
  }

  /** In-place sum over all ranks. */
  allreduceSum(data: Float32Array): void {
    this.guard('all-reduce', () => this.addon.allreduceSum(this.handle, data));
  }

  /** In place: every rank ends with `root`'s bytes. */
  broadcast(data: ArrayBufferView, root = 0): void {
    this.guard('broadcast', () => this.addon.broadcast(this.handle, data, root));
  }

  /** Every rank's bytes (any length), in rank order. */
  allgatherBytes(data: Uint8Array): Uint8Array[] {
    const len = new Uint8Array(new Float64Array([data.length]).buffer);
    const lens = new Uint8Array(8 * this.worldSize);
    this.guard('all-gather', () => this.addon.allgather(this.handle, len, lens));
    const sizes = Array.from(new Float64Array(lens.buffer));
    const max = Math.max(...sizes);
    const padded = new Uint8Array(max);
    padded.set(data);
    const all = new Uint8Array(max * this.worldSize);
    if (max > 0) this.guard('all-gather', () => this.addon.allgather(this.handle, padded, all));
    return sizes.map((n, r) => all.slice(r * max, r * max + n));
  }

  /** Every rank's JSON-serialisable value, in rank order. */
  allgatherJson<T>(value: T): T[] {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return this.allgatherBytes(bytes).map((b) => JSON.parse(new TextDecoder().decode(b)) as T);
  }

  barrier(): void {
    this.guard('barrier', () => this.addon.barrier(this.handle));
  }
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').filter((l) => l.trim()).slice(0, 2).join(' ').replace(/\s+/g, ' ');
}
