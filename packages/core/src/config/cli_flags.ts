/**
 * The command-line flag parser of the tools (train, eval, predict, bench, ...): `--config`, `--cfg-options k=v ...`,
 * `--work-dir`, `--resume`, `--checkpoint` and free `--flag value` items, with typed accessors (`toolFlags`) that
 * reject unknown or malformed flags with a usage error.
 */
import { didYouMean } from '../utils/suggest';

/** Common command-line options of the tools (`train`, `eval`, `predict`, ...). */
export interface ToolArgs {
  config?: string;
  /** `key=value` items following `--cfg-options` (until the next `--flag`). */
  cfgOptions: string[];
  workDir?: string;
  /** `--resume` alone: resume from the work dir's latest checkpoint; `--resume FILE`: from that file. */
  resume: boolean | string;
  checkpoint?: string;
  /** Any other `--flag value` / `--flag` (true) / `--flag=value`, by flag name without dashes. */
  flags: Record<string, string | boolean>;
  /** Every value of each pass-through flag in command-line order (`--image a --image b` -> ['a', 'b']). */
  occurrences: Record<string, (string | true)[]>;
  /** Arguments that belong to no flag. */
  positional: string[];
}

const isFlag = (s: string | undefined): boolean => s !== undefined && /^--?[A-Za-z]/.test(s);

/**
 * Parses `--config X --cfg-options a=1 b=[1,2] --work-dir D --resume [F] --checkpoint F` plus pass-through
 * flags. Both `--flag value` and `--flag=value` work; `--work_dir` equals `--work-dir`.
 */
export function parseArgs(argv: string[]): ToolArgs {
  const out: ToolArgs = { cfgOptions: [], resume: false, flags: {}, occurrences: {}, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!isFlag(a)) {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(0, eq) : a).replace(/^--?/, '').replace(/_/g, '-');
    const inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      if (i + 1 < argv.length && !isFlag(argv[i + 1])) return argv[++i];
      return undefined;
    };
    const need = (): string => {
      const v = takeValue();
      if (v === undefined) throw new Error(`--${name} needs a value`);
      return v;
    };
    switch (name) {
      case 'config':
        out.config = need();
        break;
      case 'cfg-options':
      case 'options':
        if (inline !== undefined) out.cfgOptions.push(inline);
        while (i + 1 < argv.length && !isFlag(argv[i + 1])) out.cfgOptions.push(argv[++i]);
        break;
      case 'work-dir':
        out.workDir = need();
        break;
      case 'checkpoint':
        out.checkpoint = need();
        break;
      case 'resume':
      case 'resume-from': {
        const v = takeValue();
        out.resume = v === undefined ? true : v === 'true' ? true : v === 'false' ? false : v;
        break;
      }
      default: {
        const v = takeValue() ?? true;
        // The last one wins in `flags`; `occurrences` keeps them all for repeatable flags.
        out.flags[name] = v;
        (out.occurrences[name] ??= []).push(v);
      }
    }
  }
  return out;
}

/** A wrong, unknown or missing command-line option. Tools print it and exit with status 2 (other errors: 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--help` / `-h` was given: the tool prints `usage` to stdout and exits 0 (thrown so no work starts). */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
    this.name = 'HelpRequested';
  }
}

/** True when argv asks for help (`--help`, `-h`), wherever it stands before a `--`. */
export function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h' || a === '--help=true') return true;
  }
  return false;
}

/** Exit status for an error thrown by a tool: 0 for a help request, 2 for usage errors, 1 for anything else. */
export const exitCodeOf = (e: unknown): number => (e instanceof HelpRequested ? 0 : e instanceof UsageError ? 2 : 1);

/**
 * How every tool ends on an exception: a help request prints the usage on stdout; anything else prints one line
 * `<tool>: <message>` on stderr (the stack only with LITV2_DEBUG=1). Returns the exit status.
 */
export function reportToolError(tool: string, e: unknown): number {
  if (e instanceof HelpRequested) {
    process.stdout.write(`${e.usage}\n`);
    return 0;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${tool}: ${msg}\n`);
  if (process.env.LITV2_DEBUG) console.error(e);
  return exitCodeOf(e);
}

/**
 * Takes `--task X` (or `--task=X`) out of `argv` for the dispatching tools (`tools/predict.ts`,
 * `tools/benchmark.ts`), so the task's own parser never sees it.
 */
export function splitTask(argv: string[]): { task?: string; rest: string[] } {
  const rest: string[] = [];
  let task: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--task') {
      if (i + 1 >= argv.length || isFlag(argv[i + 1])) throw new UsageError('--task needs a value');
      task = argv[++i];
    } else if (a.startsWith('--task=')) {
      task = a.slice('--task='.length);
    } else {
      rest.push(a);
    }
  }
  return { task, rest };
}

export interface ToolFlagSpec {
  /** Accepted flags without dashes, `parseArgs`'s own ('config', 'checkpoint', 'cfg-options', ...) included. */
  allowed: string[];
  /** Synopsis appended to every error, e.g. `--config NAME --checkpoint FILE --image IMG [--out OUT.png]`. */
  usage: string;
  /** Accept arguments that belong to no flag (default: they are an error). */
  positional?: boolean;
}

export interface NumberFlagOptions {
  integer?: boolean;
  /** Smallest accepted value. */
  min?: number;
}

/** Typed, validated reads of the flags a tool accepts; every failure is a `UsageError` naming the flag. */
export interface ToolFlags {
  /** A single-valued flag; given twice or without a value is an error. */
  string(name: string, opts: { required: true }): string;
  string(name: string, opts?: { required?: boolean }): string | undefined;
  number(name: string, dflt: number, opts?: NumberFlagOptions): number;
  number(name: string, dflt?: undefined, opts?: NumberFlagOptions): number | undefined;
  /** A switch: present (`--json`, `--json=true`) or not; `--json=false` reads false. */
  bool(name: string): boolean;
  /** A repeatable flag (`--image a --image b`), in command-line order. */
  strings(name: string, opts?: { required?: boolean }): string[];
  readonly cfgOptions: string[];
  readonly positional: string[];
  /** Throws `UsageError('<message>; usage: <usage>')`. */
  fail(message: string): never;
}

/**
 * Checks `args` against `spec.allowed` (unknown flag -> `unknown option '--x' (did you mean '--y'?); usage: ...`)
 * and returns typed getters over it, so all tools parse and report flags the same way.
 */
export function toolFlags(args: ToolArgs, spec: ToolFlagSpec): ToolFlags {
  if (args.flags.help !== undefined || args.flags.h !== undefined) throw new HelpRequested(`usage: ${spec.usage}`);
  const allowed = new Set(spec.allowed);
  const fail = (message: string): never => {
    throw new UsageError(`${message}; usage: ${spec.usage}`);
  };
  const given: string[] = [];
  if (args.config !== undefined) given.push('config');
  if (args.cfgOptions.length) given.push('cfg-options');
  if (args.workDir !== undefined) given.push('work-dir');
  if (args.checkpoint !== undefined) given.push('checkpoint');
  if (args.resume !== false) given.push('resume');
  given.push(...Object.keys(args.flags));
  for (const f of given) {
    if (!allowed.has(f)) fail(`unknown option '--${f}'${didYouMean(`--${f}`, spec.allowed.map((a) => `--${a}`))}`);
  }
  if (args.positional.length && !spec.positional) fail(`unexpected argument '${args.positional[0]}'`);

  const values = (name: string): (string | true)[] => {
    if (!allowed.has(name)) throw new Error(`toolFlags: '--${name}' is read but not in the allowed list`);
    switch (name) {
      case 'config':
        return args.config === undefined ? [] : [args.config];
      case 'cfg-options':
        return args.cfgOptions;
      case 'work-dir':
        return args.workDir === undefined ? [] : [args.workDir];
      case 'checkpoint':
        return args.checkpoint === undefined ? [] : [args.checkpoint];
      case 'resume':
        return args.resume === false ? [] : [args.resume];
      default: {
        const f = args.flags[name];
        return args.occurrences?.[name] ?? (f === undefined || f === false ? [] : [f]);
      }
    }
  };
  const text = (name: string, v: string | true): string => (v === true ? fail(`--${name} needs a value`) : v);

  function string(name: string, opts: { required: true }): string;
  function string(name: string, opts?: { required?: boolean }): string | undefined;
  function string(name: string, opts: { required?: boolean } = {}): string | undefined {
    const vs = values(name);
    if (vs.length > 1) fail(`--${name} given ${vs.length} times; it takes one value`);
    if (!vs.length) return opts.required ? fail(`missing --${name}`) : undefined;
    return text(name, vs[0]);
  }
  function number(name: string, dflt: number, opts?: NumberFlagOptions): number;
  function number(name: string, dflt?: undefined, opts?: NumberFlagOptions): number | undefined;
  function number(name: string, dflt?: number, opts: NumberFlagOptions = {}): number | undefined {
    const s = string(name);
    if (s === undefined) return dflt;
    const n = s.trim() === '' ? NaN : Number(s);
    const kind = opts.integer ? 'an integer' : 'a number';
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) fail(`--${name} expects ${kind} (got '${s}')`);
    if (opts.min !== undefined && n < opts.min) fail(`--${name} expects ${kind} >= ${opts.min} (got '${s}')`);
    return n;
  }
  const bool = (name: string): boolean => {
    const vs = values(name);
    if (!vs.length) return false;
    const v = vs[vs.length - 1];
    if (v === true || v === 'true') return true;
    if (v === 'false') return false;
    return fail(`--${name} takes no value (got '${v}')`);
  };
  const strings = (name: string, opts: { required?: boolean } = {}): string[] => {
    const vs = values(name).map((v) => text(name, v));
    if (!vs.length && opts.required) fail(`missing --${name}`);
    return vs;
  };
  return { string, number, bool, strings, cfgOptions: args.cfgOptions, positional: args.positional, fail };
}
