import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../registry/registry';
import { didYouMean } from '../utils/suggest';

const EXTS = ['.yaml', '.yml'];

/** `configs/` of the repository: the nearest one at or above the working directory. */
export function defaultConfigsDir(start = process.cwd()): string {
  let dir = path.resolve(start);
  for (;;) {
    const c = path.join(dir, 'configs');
    if (fs.existsSync(c) && fs.statSync(c).isDirectory()) return c;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, 'configs');
    dir = up;
  }
}

function listConfigs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (EXTS.includes(path.extname(e.name))) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/**
 * Resolves `--config`: an existing path is used as is; otherwise `NAME` (optionally with a sub-folder or
 * extension) is looked up as `configs/**\/NAME.yaml`. Ambiguous names list the candidates; unknown names
 * suggest the closest config.
 */
export function findConfigFile(nameOrPath: string, configsDir = defaultConfigsDir()): string {
  for (const cand of [nameOrPath, ...EXTS.map((e) => nameOrPath + e)]) {
    if (fs.existsSync(cand) && fs.statSync(cand).isFile()) return path.resolve(cand);
  }
  const all = listConfigs(configsDir);
  const want = nameOrPath.replace(/\\/g, '/').replace(/\.ya?ml$/, '');
  const matches = all.filter((f) => {
    const rel = path.relative(configsDir, f).replace(/\\/g, '/').replace(/\.ya?ml$/, '');
    return rel === want || rel.endsWith(`/${want}`);
  });
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new ConfigError(
      `config name '${nameOrPath}' is ambiguous; candidates:\n${matches.map((m) => `  ${path.relative(process.cwd(), m)}`).join('\n')}\n` +
        'pass a path or a name with its sub-folder (e.g. detection/NAME)',
    );
  }
  const stems = all.map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
  const base = path.basename(want);
  throw new ConfigError(
    `config '${nameOrPath}' not found (no such file, and no ${base}.yaml under ${configsDir})${didYouMean(base, stems)}`,
  );
}
