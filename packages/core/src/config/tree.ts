import type { ConfigNode } from '../registry/registry';

/** A YAML mapping (not a list, not null). */
export function isMapping(v: unknown): v is ConfigNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (isMapping(v)) {
    const out: ConfigNode = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepClone(x);
    return out as T;
  }
  return v;
}

export function joinKey(prefix: string, key: string | number): string {
  return prefix ? `${prefix}.${key}` : String(key);
}

/** The value at a dotted path (`model.backbone.depths.0`), or undefined. */
export function getPath(cfg: unknown, dotted: string): unknown {
  let cur = cfg;
  for (const part of dotted.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isMapping(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

/**
 * Which file defined each dotted key. Lookups fall back to the nearest ancestor that has an entry, so list
 * items and keys inside replaced sub-trees resolve to the file that wrote them.
 */
export class OriginMap {
  readonly map = new Map<string, string>();
  constructor(readonly fallback: string) {}

  set(key: string, file: string): void {
    this.map.set(key, file);
  }

  /** Forgets `key` and everything below it (the sub-tree was replaced). */
  clear(key: string): void {
    const pre = `${key}.`;
    for (const k of [...this.map.keys()]) if (k === key || k.startsWith(pre)) this.map.delete(k);
  }

  get(key: string): string {
    // A key that only exists because an override set something below it (`--cfg-options optimzer.lr=1`).
    if (!this.map.has(key)) {
      const pre = `${key}.`;
      for (const [k2, f] of this.map) if (k2.startsWith(pre)) return f;
    }
    let k = key;
    for (;;) {
      const f = this.map.get(k);
      if (f !== undefined) return f;
      const dot = k.lastIndexOf('.');
      if (dot < 0) return this.fallback;
      k = k.slice(0, dot);
    }
  }
}

/**
 * Merges `src` into `target` in place: mappings merge recursively, anything else (lists included) replaces,
 * and a mapping with `_delete_: true` replaces the sub-tree instead of merging. `originOf` names the file
 * each source key came from.
 */
export function mergeInto(target: ConfigNode, src: ConfigNode, origins: OriginMap, originOf: (key: string) => string, prefix = ''): void {
  for (const [k, v] of Object.entries(src)) {
    if (k === '_delete_') continue;
    const key = joinKey(prefix, k);
    if (isMapping(v)) {
      const replace = v._delete_ === true || !isMapping(target[k]);
      if (replace) {
        origins.clear(key);
        target[k] = {};
      }
      origins.set(key, originOf(key));
      mergeInto(target[k] as ConfigNode, v, origins, originOf, key);
    } else {
      origins.clear(key);
      origins.set(key, originOf(key));
      target[k] = deepClone(v);
    }
  }
}

/** Removes stray `_delete_` markers (e.g. in a file with no base to delete from). */
export function stripDeleteMarkers(node: unknown): void {
  if (Array.isArray(node)) node.forEach(stripDeleteMarkers);
  else if (isMapping(node)) {
    delete node._delete_;
    Object.values(node).forEach(stripDeleteMarkers);
  }
}
