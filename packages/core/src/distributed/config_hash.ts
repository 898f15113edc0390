/** A digest of a merged config, compared across ranks at rendezvous (key order does not matter). */
import { createHash } from 'node:crypto';
import type { ConfigNode } from '../registry/registry';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function configHash(cfg: ConfigNode): string {
  return createHash('sha256').update(JSON.stringify(canonical(cfg))).digest('hex');
}
