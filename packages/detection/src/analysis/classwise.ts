/**
 * Per-category AP (mmdet CocoDataset.evaluate with `classwise=True`): for each category, the mean of
 * COCOeval's precision[:, :, k, area 'all', last maxDets] over the entries that exist (> -1), i.e. the same
 * number as a COCOeval restricted to that one category. NaN when the category has no ground truth.
 */
import { summarizeOne, type COCOeval } from '@litv2/cocoapi';

export interface CategoryAP {
  catId: number;
  name: string;
  /** AP@[.50:.95] over all areas at the largest maxDets; NaN without ground truth. */
  ap: number;
}

/** Per-category AP from an evaluated and accumulated COCOeval (category order: `params.catIds`). */
export function classwiseAP(ev: COCOeval, names: ReadonlyMap<number, string>): CategoryAP[] {
  const e = ev.eval;
  if (!e) throw new Error('classwiseAP: run evaluate() and accumulate() first');
  const p = e.params;
  if (!p.useCats) throw new Error('classwiseAP: the evaluation was run with useCats=0 (no per-category precision)');
  const catIds = p.catIds;
  const [, , K] = e.counts;
  if (K !== catIds.length) throw new Error(`classwiseAP: precision has ${K} categories but params.catIds ${catIds.length}`);
  const maxDets = p.maxDets[p.maxDets.length - 1];
  return catIds.map((catId, k) => {
    const v = summarizeOne(e, true, null, p.areaRngLbl[0], maxDets, k);
    return { catId, name: names.get(catId) ?? String(catId), ap: v === -1 ? Number.NaN : v };
  });
}

/** A fixed-width table of (category, AP) pairs, up to three pairs per row (mmdet's layout), AP to 3 decimals. */
export function formatClasswiseTable(rows: readonly CategoryAP[]): string {
  const cells = rows.map((r) => [r.name, Number.isNaN(r.ap) ? 'nan' : r.ap.toFixed(3)]);
  const pairs = Math.max(1, Math.min(3, cells.length));
  const nameW = Math.max(8, ...cells.map((c) => c[0].length));
  const apW = 5;
  const line = '+' + Array.from({ length: pairs }, () => `${'-'.repeat(nameW + 2)}+${'-'.repeat(apW + 2)}+`).join('');
  const row = (items: string[][]) =>
    '|' + Array.from({ length: pairs }, (_, i) => ` ${(items[i]?.[0] ?? '').padEnd(nameW)} | ${(items[i]?.[1] ?? '').padEnd(apW)} |`).join('');
  const out = [line, row(Array.from({ length: pairs }, () => ['category', 'AP'])), line];
  for (let i = 0; i < cells.length; i += pairs) out.push(row(cells.slice(i, i + pairs)));
  out.push(line);
  return out.join('\n');
}
