import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { findConfigFile } from './find';
import { parseCfgOption, setOption } from './overrides';
import { isMapping, mergeInto, OriginMap, stripDeleteMarkers } from './tree';

export interface LoadConfigOptions {
  /** `key=value` overrides applied last (`--cfg-options`). */
  cfgOptions?: string[];
  /** Where `--config NAME` looks (default: the nearest `configs/` at or above the working directory). */
  configsDir?: string;
}

export interface LoadedConfig {
  /** The fully merged config. */
  cfg: ConfigNode;
  /** Absolute path of the config file that was asked for. */
  file: string;
  /** Its name (file name without extension). */
  name: string;
  /** The file (or `--cfg-options`) that defined a dotted key, for error messages. */
  origins: (dottedKey: string) => string;
  /** `{ file: origins(path), path }`: what `Registry.build` and `validateKeys` take. */
  originAt: (dottedKey: string) => ConfigOrigin;
}

/** Parses one YAML file into a mapping; syntax errors name the file and line. */
export function readYamlFile(file: string): ConfigNode {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config: ${(e as Error).message}`, { file, path: '' });
  }
  const doc = YAML.parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length) throw new ConfigError(`invalid YAML: ${doc.errors[0].message}`, { file, path: '' });
  const v = doc.toJS() as unknown;
  if (v === null || v === undefined) return {};
  if (!isMapping(v)) throw new ConfigError('a config file must be a mapping at the top level', { file, path: '' });
  return v;
}

interface Loaded {
  cfg: ConfigNode;
  origins: OriginMap;
}

function loadWithBases(file: string, chain: string[]): Loaded {
  if (chain.includes(file)) throw new ConfigError(`circular _base_ chain: ${[...chain, file].join(' -> ')}`, { file, path: '_base_' });
  const own = readYamlFile(file);
  const bases = own._base_;
  delete own._base_;
  const list = bases === undefined ? [] : typeof bases === 'string' ? [bases] : bases;
  if (!Array.isArray(list) || !list.every((b) => typeof b === 'string')) {
    throw new ConfigError('_base_ must be a file name or a list of file names', { file, path: '_base_' });
  }
  const cfg: ConfigNode = {};
  const origins = new OriginMap(file);
  for (const b of list as string[]) {
    const baseFile = path.resolve(path.dirname(file), b);
    if (!fs.existsSync(baseFile)) throw new ConfigError(`_base_ file '${b}' not found (resolved to ${baseFile})`, { file, path: '_base_' });
    const base = loadWithBases(baseFile, [...chain, file]);
    mergeInto(cfg, base.cfg, origins, (k) => base.origins.get(k));
  }
  mergeInto(cfg, own, origins, () => file);
  return { cfg, origins };
}

/**
 * Loads a config by name (`configs/**\/NAME.yaml`) or path: `_base_` files (a name or a list, relative to
 * the including file) are merged in order, then the file itself, then `cfgOptions` (`a.b=1 c=[1,2]`).
 * Mappings merge deeply, lists replace, `_delete_: true` replaces a sub-tree. Every key remembers its file.
 */
export function loadConfig(nameOrPath: string, opts: LoadConfigOptions = {}): LoadedConfig {
  const file = findConfigFile(nameOrPath, opts.configsDir);
  const { cfg, origins } = loadWithBases(file, []);
  for (const item of opts.cfgOptions ?? []) {
    const [key, value] = parseCfgOption(item);
    setOption(cfg, key, value, origins);
  }
  stripDeleteMarkers(cfg);
  return {
    cfg,
    file,
    name: path.basename(file).replace(/\.ya?ml$/, ''),
    origins: (k) => origins.get(k),
    originAt: (k) => ({ file: origins.get(k), path: k }),
  };
}
