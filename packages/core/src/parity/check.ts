/** Fixture parity: running a handler over a `litv2-fixture-v1` manifest and reporting per-tensor errors. */
import { Fixture, type FixtureManifest, type TensorComparison, type Tolerance } from './fixture_io';

export interface FixtureCheckOptions extends Tolerance {
  /** Extra weights for fixtures whose backbone is stored separately (detection/segmentation handlers). */
  backboneWeights?: string;
  /** Progress messages (default: silent). */
  log?: (msg: string) => void;
}

/**
 * Knows how to rebuild and run the module behind one kind of fixture. Handlers are tried in order; the
 * first whose `matches` accepts the manifest runs it.
 */
export interface FixtureHandler {
  name: string;
  matches(manifest: FixtureManifest): boolean;
  run(fixture: Fixture, opts: FixtureCheckOptions): Promise<TensorComparison[]>;
}

export interface FixtureReport {
  file: string;
  case: string;
  handler: string;
  rows: TensorComparison[];
  /** Reference tensors (outputs / intermediates) nothing compared. */
  notCompared: string[];
  ok: boolean;
  seconds: number;
}

/** Loads a fixture, dispatches it to the first matching handler, and checks every produced tensor. */
export async function checkFixture(file: string, handlers: readonly FixtureHandler[], opts: FixtureCheckOptions): Promise<FixtureReport> {
  const fx = Fixture.load(file);
  const handler = handlers.find((h) => h.matches(fx.manifest));
  if (!handler) {
    throw new Error(`${file}: no fixture handler recognises case '${fx.manifest.case}' (meta.module ${JSON.stringify(fx.meta.module)}); known: ${handlers.map((h) => h.name).join(', ')}`);
  }
  const t0 = Date.now();
  const rows = await handler.run(fx, opts);
  const seconds = (Date.now() - t0) / 1000;
  const compared = new Set(rows.map((r) => r.name));
  const notCompared = fx.list().filter((e) => (e.role === 'output' || e.role === 'intermediate') && !compared.has(e.name)).map((e) => e.name);
  // Every `output` must be reproduced; intermediates that a handler cannot produce are only reported.
  const missingOutputs = notCompared.filter((n) => fx.entry(n).role === 'output');
  const ok = rows.length > 0 && rows.every((r) => r.ok) && missingOutputs.length === 0;
  return { file, case: fx.manifest.case, handler: handler.name, rows, notCompared, ok, seconds };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));

/** Human-readable table of a report. */
export function formatFixtureReport(r: FixtureReport): string {
  const w = Math.max(6, ...r.rows.map((x) => x.name.length));
  const lines = [`${r.file}  [case ${r.case}, handler ${r.handler}, ${r.seconds.toFixed(1)} s]`];
  lines.push(`  ${'tensor'.padEnd(w)}  ${'shape'.padEnd(18)}  ${'max abs'.padStart(9)}  ${'max rel'.padStart(9)}  result`);
  for (const x of r.rows) {
    lines.push(`  ${x.name.padEnd(w)}  ${`[${x.shape.join(',')}]`.padEnd(18)}  ${fmt(x.maxAbs).padStart(9)}  ${fmt(x.maxRel).padStart(9)}  ${x.ok ? 'ok' : `FAIL${x.detail ? ` (${x.detail})` : ''}`}`);
  }
  if (r.notCompared.length) lines.push(`  not compared: ${r.notCompared.join(', ')}`);
  lines.push(`  ${r.ok ? 'PASS' : 'FAIL'}: ${r.rows.filter((x) => x.ok).length}/${r.rows.length} within tolerance`);
  return lines.join('\n');
}
