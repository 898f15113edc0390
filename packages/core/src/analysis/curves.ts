/**
 * Training curves from the engine's JSON-lines logs (mmdet `analyze_logs.py plot_curve`): records -> series
 * of (x, value) points -> a vega-lite chart with one panel per kind of quantity (loss terms together, the
 * learning rate, evaluation metrics together, any other key alone) and one coloured line per run and key.
 * Browser-safe: no file system here; reading work dirs and rendering to SVG/PNG live in the node-side files.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { LogRecord } from '../engine/types';

/** One run's records (a work dir or a single log file). */
export interface RunLog {
  /** Legend label (work dir name unless the user gives one). */
  label: string;
  records: LogRecord[];
}

export type CurveAxis = 'iter' | 'epoch';

/** One line of the chart. */
export interface CurveSeries {
  run: string;
  key: string;
  /** Panel the line is drawn in (see `panelOf`). */
  panel: string;
  /** 'train' keys come from the interval records, 'val' keys from the evaluation records. */
  mode: 'train' | 'val';
  x: number[];
  y: number[];
}

/** Keys of a train record that are bookkeeping, not curves. */
const TRAIN_META = new Set(['mode', 'epoch', 'iter', 'inner_iter', 'eta_s', 'memory_tensors']);
const VAL_META = new Set(['mode', 'epoch', 'iter']);

/**
 * Parses JSON-lines text. A line that is not a JSON object with `mode`, `epoch` and `iter` is an error naming
 * the source and the line number (a log cut short by a crash ends with a partial line: that one is skipped).
 */
export function parseLogLines(text: string, source: string): LogRecord[] {
  const lines = text.split('\n');
  const out: LogRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      // Only the very last line may be partial (the writer was killed mid-append).
      if (lines.slice(i + 1).every((l) => !l.trim())) break;
      throw new Error(`${source}:${i + 1}: not a JSON object (${(e as Error).message})`);
    }
    const r = rec as Partial<LogRecord> | null;
    if (!r || typeof r !== 'object' || (r.mode !== 'train' && r.mode !== 'val') || typeof r.iter !== 'number' || typeof r.epoch !== 'number') {
      throw new Error(`${source}:${i + 1}: not a log record (needs mode 'train'|'val', numeric epoch and iter)`);
    }
    out.push(r as LogRecord);
  }
  return out;
}

/**
 * Joins the records of several log files of one work dir (oldest first): a later file's records replace
 * earlier ones at the same (mode, iter), which is what a resumed run rewrites.
 */
export function mergeRunRecords(files: LogRecord[][]): LogRecord[] {
  const byKey = new Map<string, LogRecord>();
  for (const recs of files) for (const r of recs) byKey.set(`${r.mode}:${r.iter}`, r);
  return [...byKey.values()].sort((a, b) => a.iter - b.iter || (a.mode === b.mode ? 0 : a.mode === 'train' ? -1 : 1));
}

/** The keys that have a numeric value in some record of `mode`. */
export function curveKeys(records: readonly LogRecord[], mode: 'train' | 'val'): string[] {
  const meta = mode === 'train' ? TRAIN_META : VAL_META;
  const keys = new Set<string>();
  for (const r of records) {
    if (r.mode !== mode) continue;
    for (const [k, v] of Object.entries(r)) if (!meta.has(k) && typeof v === 'number' && Number.isFinite(v)) keys.add(k);
  }
  return [...keys];
}

/**
 * What the trainer plots by default: every loss term, the learning rate and the headline evaluation metrics
 * (the mAP / mIoU / accuracy keys, not the per-size breakdowns).
 */
export function defaultCurveKeys(records: readonly LogRecord[]): string[] {
  const train = curveKeys(records, 'train').filter((k) => k.includes('loss') || k === 'lr');
  const val = curveKeys(records, 'val');
  const headline = val.filter((k) => /(^|_)(mAP|mAP_50|mIoU|mAcc|aAcc)$|^accuracy_top-1$|^top1/.test(k));
  return [...train, ...(headline.length ? headline : val)];
}

/** Panel of a key: loss terms share one, metrics of the evaluation share one, anything else is alone. */
export function panelOf(key: string, mode: 'train' | 'val'): string {
  if (mode === 'val') return 'evaluation';
  if (key.includes('loss')) return 'loss';
  if (key === 'lr') return 'learning rate';
  if (key === 'time' || key === 'data_time') return 'seconds per iteration';
  return key;
}

/**
 * Epoch coordinate of a train record: `epoch - 1 + inner_iter / iters_per_epoch`, with iters per epoch taken
 * as the largest inner_iter logged in that epoch (the logger always writes the epoch's last iteration).
 */
function epochXs(records: readonly LogRecord[]): Map<LogRecord, number> {
  const perEpoch = new Map<number, number>();
  for (const r of records) {
    if (r.mode !== 'train' || typeof r.inner_iter !== 'number') continue;
    perEpoch.set(r.epoch, Math.max(perEpoch.get(r.epoch) ?? 0, r.inner_iter));
  }
  const xs = new Map<LogRecord, number>();
  for (const r of records) {
    if (r.mode === 'val') xs.set(r, r.epoch);
    else {
      const n = perEpoch.get(r.epoch);
      xs.set(r, n && typeof r.inner_iter === 'number' ? r.epoch - 1 + r.inner_iter / n : r.epoch);
    }
  }
  return xs;
}

/**
 * The series to draw: for every run and every key (found among its train keys, else its val keys), the points
 * in iteration or epoch order. A key that no run has is an error listing the keys the logs do have.
 */
export function buildCurveSeries(runs: readonly RunLog[], keys: readonly string[], axis: CurveAxis = 'iter'): CurveSeries[] {
  const out: CurveSeries[] = [];
  for (const key of keys) {
    let found = false;
    for (const run of runs) {
      const mode: 'train' | 'val' = curveKeys(run.records, 'train').includes(key) ? 'train' : 'val';
      const recs = run.records.filter((r) => r.mode === mode && typeof r[key] === 'number' && Number.isFinite(r[key] as number));
      if (!recs.length) continue;
      found = true;
      const ex = axis === 'epoch' ? epochXs(run.records) : undefined;
      out.push({
        run: run.label,
        key,
        panel: panelOf(key, mode),
        mode,
        x: recs.map((r) => (ex ? ex.get(r)! : r.iter)),
        y: recs.map((r) => r[key] as number),
      });
    }
    if (!found) {
      const have = new Set<string>();
      for (const run of runs) for (const m of ['train', 'val'] as const) for (const k of curveKeys(run.records, m)) have.add(k);
      throw new Error(`no log has the key '${key}' (keys in the logs: ${[...have].join(', ') || 'none'})`);
    }
  }
  return out;
}

export interface CurveChartOptions {
  axis?: CurveAxis;
  title?: string;
  /** Width and height of each panel in pixels. */
  width?: number;
  height?: number;
}

/** Legend label of a series: the key alone for one run, `run: key` for several. */
export function seriesLabel(s: CurveSeries, manyRuns: boolean): string {
  return manyRuns ? `${s.run}: ${s.key}` : s.key;
}

/**
 * A vega-lite spec: the panels stacked vertically, each with its own y scale and legend; evaluation panels
 * mark their (few) points. The learning-rate panel uses exponent labels so 1e-4-sized values stay readable.
 */
export function curveChartSpec(series: readonly CurveSeries[], opts: CurveChartOptions = {}): TopLevelSpec {
  const manyRuns = new Set(series.map((s) => s.run)).size > 1;
  const panels: string[] = [];
  for (const s of series) if (!panels.includes(s.panel)) panels.push(s.panel);
  const xTitle = (opts.axis ?? 'iter') === 'epoch' ? 'epoch' : 'iteration';
  const charts = panels.map((panel) => {
    const rows: { x: number; y: number; series: string }[] = [];
    const members = series.filter((s) => s.panel === panel);
    for (const s of members) {
      const label = seriesLabel(s, manyRuns);
      for (let i = 0; i < s.x.length; i++) rows.push({ x: s.x[i], y: s.y[i], series: label });
    }
    const isVal = members.every((s) => s.mode === 'val');
    return {
      title: panel,
      width: opts.width ?? 560,
      height: opts.height ?? 200,
      data: { values: rows },
      mark: { type: 'line' as const, point: isVal, strokeWidth: 1.6 },
      encoding: {
        x: { field: 'x', type: 'quantitative' as const, title: xTitle },
        y: {
          field: 'y',
          type: 'quantitative' as const,
          title: members.length === 1 ? members[0].key : isVal ? 'metric value' : panel,
          // Metrics read against zero; losses and the lr are read by their shape.
          scale: { zero: isVal },
          ...(panel === 'learning rate' ? { axis: { format: '.1e' } } : {}),
        },
        color: { field: 'series', type: 'nominal' as const, title: null, sort: null, legend: { labelLimit: 320 } },
      },
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    background: 'white',
    padding: 10,
    config: { font: 'DejaVu Sans, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 }, title: { fontSize: 13 } },
    vconcat: charts,
    resolve: { scale: { color: 'independent', y: 'independent', x: 'shared' } },
  } as TopLevelSpec;
}
