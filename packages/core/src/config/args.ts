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
  /** Arguments that belong to no flag. */
  positional: string[];
}

const isFlag = (s: string | undefined): boolean => s !== undefined && /^--?[A-Za-z]/.test(s);

/**
 * Parses `--config X --cfg-options a=1 b=[1,2] --work-dir D --resume [F] --checkpoint F` plus pass-through
 * flags. Both `--flag value` and `--flag=value` work; `--work_dir` equals `--work-dir`.
 */
export function parseArgs(argv: string[]): ToolArgs {
  const out: ToolArgs = { cfgOptions: [], resume: false, flags: {}, positional: [] };
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
        const v = takeValue();
        out.flags[name] = v === undefined ? true : v;
      }
    }
  }
  return out;
}
