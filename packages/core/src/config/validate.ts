import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { didYouMean } from '../utils/suggest';
import { isMapping, joinKey } from './tree';

/**
 * Expected type of a config value: a primitive name, `'<name>[]'` for a list of them, unions with `|`
 * (`'number|null'`), `'any'`, or a nested schema for a sub-mapping.
 */
export type ValueSchema = string | KeySchema;
export interface KeySchema {
  [key: string]: ValueSchema;
}

export interface ValidateOrigin extends ConfigOrigin {
  /** File that defined a dotted key (e.g. `LoadedConfig.origins`), for precise messages. */
  originOf?: (dottedKey: string) => string;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (isMapping(v)) return 'mapping';
  return typeof v;
}

function matchesPrimitive(v: unknown, t: string): boolean {
  if (t.endsWith('[]')) return Array.isArray(v) && v.every((x) => matchesPrimitive(x, t.slice(0, -2)));
  switch (t) {
    case 'any':
      return true;
    // Range-checked numbers: what epochs, batch sizes, thresholds and learning rates must be.
    case 'count':
      return typeof v === 'number' && Number.isInteger(v) && v >= 1;
    case 'index':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0;
    case 'positive':
      return typeof v === 'number' && Number.isFinite(v) && v > 0;
    case 'nonneg':
      return typeof v === 'number' && Number.isFinite(v) && v >= 0;
    case 'fraction':
      return typeof v === 'number' && v >= 0 && v <= 1;
    case 'number':
      return typeof v === 'number';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    case 'list':
    case 'array':
      return Array.isArray(v);
    case 'mapping':
    case 'object':
      return isMapping(v);
    default:
      throw new Error(`validateKeys: unknown schema type '${t}'`);
  }
}

const TYPE_WORDS: Record<string, string> = {
  count: 'an integer >= 1',
  index: 'an integer >= 0',
  positive: 'a number > 0',
  nonneg: 'a number >= 0',
  fraction: 'a number in [0, 1]',
  mapping: 'a mapping',
};

/** How an expected schema type reads in an error message. */
function describeType(t: string): string {
  if (t.endsWith('[]')) return `a list of ${describeType(t.slice(0, -2)).replace(/^an? /, '')}s`;
  return TYPE_WORDS[t] ?? t;
}

/**
 * Checks a non-`type`d config section (`data`, `optimizer`, `runner`, ...) against `schema`: unknown keys
 * and wrong value types are `ConfigError`s naming the file that defined the key, its dotted path, and the
 * closest allowed key. Keys listed in `required` must be present. Absent optional keys are fine.
 */
export function validateKeys(node: unknown, schema: KeySchema, origin: ValidateOrigin, opts: { required?: string[] } = {}): void {
  const where = (key: string): ConfigOrigin => ({ file: origin.originOf ? origin.originOf(key) : origin.file, path: key });
  if (!isMapping(node)) throw new ConfigError(`expected a mapping, got ${typeName(node)}`, where(origin.path));
  const allowed = Object.keys(schema);
  for (const [k, v] of Object.entries(node as ConfigNode)) {
    const key = joinKey(origin.path, k);
    const s = schema[k];
    if (s === undefined) {
      throw new ConfigError(`unknown key '${k}'${didYouMean(k, allowed)}; allowed: ${allowed.join(', ')}`, where(key));
    }
    if (typeof s === 'string') {
      const alts = s.split('|').map((x) => x.trim());
      if (!alts.some((t) => matchesPrimitive(v, t))) {
        throw new ConfigError(`expected ${alts.map(describeType).join(' or ')}, got ${typeName(v)} ${JSON.stringify(v)}`, where(key));
      }
    } else {
      validateKeys(v, s, { ...origin, path: key });
    }
  }
  for (const r of opts.required ?? []) {
    if (!(r in (node as ConfigNode))) throw new ConfigError(`missing required key '${r}'`, where(joinKey(origin.path, r)));
  }
}
