import * as YAML from 'yaml';
import { ConfigError, type ConfigNode } from '../registry/registry';
import { deepClone, isMapping, joinKey, type OriginMap } from './tree';

/** Origin recorded for keys set on the command line. */
export const CLI_ORIGIN = '--cfg-options';

/**
 * The typed value of a `--cfg-options` right-hand side, read as YAML: `0.5` -> number, `true` -> boolean,
 * `null` -> null, `[1,2]` -> list, `'1'` / `"abc"` -> string, anything else a plain string.
 */
export function parseOptionValue(raw: string): unknown {
  if (raw === '') return '';
  try {
    return YAML.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** `a.b=1` -> ['a.b', 1]. */
export function parseCfgOption(item: string): [string, unknown] {
  const eq = item.indexOf('=');
  if (eq <= 0) throw new ConfigError(`bad --cfg-options item '${item}': expected key=value (e.g. model.backbone.alpha=0.5)`);
  const key = item.slice(0, eq).trim();
  if (!/^[^.\s]+(\.[^.\s]+)*$/.test(key)) throw new ConfigError(`bad --cfg-options key '${key}'`);
  return [key, parseOptionValue(item.slice(eq + 1))];
}

/**
 * Sets dotted `key` in `cfg` (creating mappings on the way; numeric parts index into lists). Values
 * replace what was there.
 */
export function setOption(cfg: ConfigNode, key: string, value: unknown, origins?: OriginMap, origin = CLI_ORIGIN): void {
  const parts = key.split('.');
  let cur: unknown = cfg;
  let at = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    const here = joinKey(at, part);
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) throw new ConfigError(`cannot set '${key}': '${at}' is a list, '${part}' is not an index`, { file: origin, path: key });
      const idx = Number(part);
      if (idx > cur.length) throw new ConfigError(`cannot set '${key}': index ${idx} is beyond the list of length ${cur.length}`, { file: origin, path: key });
      if (last) cur[idx] = deepClone(value);
      else if (cur[idx] === undefined || cur[idx] === null) cur[idx] = {};
      else if (typeof cur[idx] !== 'object') throw new ConfigError(`cannot set '${key}': '${here}' holds a ${typeof cur[idx]}`, { file: origin, path: key });
      cur = cur[idx];
    } else if (isMapping(cur)) {
      if (last) cur[part] = deepClone(value);
      else if (cur[part] === undefined || cur[part] === null) cur[part] = {};
      else if (typeof cur[part] !== 'object') throw new ConfigError(`cannot set '${key}': '${here}' holds a ${typeof cur[part]}`, { file: origin, path: key });
      cur = cur[part];
    }
    at = here;
  }
  if (origins) {
    origins.clear(key);
    origins.set(key, origin);
  }
}
