/**
 * COCOeval.summarize: the 12 detection stats as numpy computes them (mean over entries > -1 in C order, with
 * numpy's pairwise summation) and the printed summary lines, formatted like Python's str.format.
 */
import { npMean } from './numpy-math';
import type { Params } from './params';

export interface SummaryArrays {
  params: Params;
  counts: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
}

export interface SummaryRow {
  ap: boolean;
  iouThr: number | null;
  areaRng: string;
  maxDets: number;
  value: number;
}

/** Stat definitions of _summarizeDets: [ap, iouThr, area label, index into maxDets]. */
const DET_STATS: [boolean, number | null, string, number][] = [
  [true, null, 'all', 2],
  [true, 0.5, 'all', 2],
  [true, 0.75, 'all', 2],
  [true, null, 'small', 2],
  [true, null, 'medium', 2],
  [true, null, 'large', 2],
  [false, null, 'all', 0],
  [false, null, 'all', 1],
  [false, null, 'all', 2],
  [false, null, 'small', 2],
  [false, null, 'medium', 2],
  [false, null, 'large', 2],
];

export const STAT_NAMES = [
  'AP@[.50:.95|all|100]',
  'AP@.50|all|100',
  'AP@.75|all|100',
  'AP@[.50:.95|small|100]',
  'AP@[.50:.95|medium|100]',
  'AP@[.50:.95|large|100]',
  'AR@[.50:.95|all|1]',
  'AR@[.50:.95|all|10]',
  'AR@[.50:.95|all|100]',
  'AR@[.50:.95|small|100]',
  'AR@[.50:.95|medium|100]',
  'AR@[.50:.95|large|100]',
];

function indicesWhere<T>(list: readonly T[], pred: (v: T) => boolean): number[] {
  const out: number[] = [];
  list.forEach((v, i) => {
    if (pred(v)) out.push(i);
  });
  return out;
}

/**
 * One stat: s[:, :, :, aind, mind] (or s[t] first for a fixed IoU), entries > -1, numpy mean; -1 if none.
 * `onlyCat` restricts the category axis to one index (per-category results).
 */
export function summarizeOne(
  arrays: SummaryArrays,
  ap: boolean,
  iouThr: number | null,
  areaRng: string,
  maxDets: number,
  onlyCat: number | null,
): number {
  const p = arrays.params;
  const [T, R, K, A, M] = arrays.counts;
  const tind = iouThr === null ? Array.from({ length: T }, (_, t) => t) : indicesWhere(p.iouThrs, (v) => v === iouThr);
  const aind = indicesWhere(p.areaRngLbl, (l) => l === areaRng);
  const mind = indicesWhere(p.maxDets, (m) => m === maxDets);
  // aind and mind are advanced indices broadcast together (normally one element each).
  const nPair = aind.length === mind.length ? aind.length : aind.length === 1 ? mind.length : mind.length === 1 ? aind.length : -1;
  if (nPair < 0) throw new Error(`summarize: area '${areaRng}' and maxDets ${maxDets} select incompatible index lists`);
  const pairs: [number, number][] = [];
  for (let j = 0; j < nPair; j++) pairs.push([aind[aind.length === 1 ? 0 : j], mind[mind.length === 1 ? 0 : j]]);
  const kList = onlyCat === null ? Array.from({ length: K }, (_, k) => k) : [onlyCat];
  const vals: number[] = [];
  if (ap) {
    const s = arrays.precision;
    for (const t of tind)
      for (let r = 0; r < R; r++)
        for (const k of kList)
          for (const [a, m] of pairs) {
            const v = s[(((t * R + r) * K + k) * A + a) * M + m];
            if (v > -1) vals.push(v);
          }
  } else {
    const s = arrays.recall;
    for (const t of tind)
      for (const k of kList)
        for (const [a, m] of pairs) {
          const v = s[((t * K + k) * A + a) * M + m];
          if (v > -1) vals.push(v);
        }
  }
  return vals.length === 0 ? -1 : npMean(vals);
}

/** The 12 stats of _summarizeDets, optionally for one category index. */
export function summarizeDets(arrays: SummaryArrays, onlyCat: number | null): SummaryRow[] {
  const md = arrays.params.maxDets;
  if (md.length < 3) throw new Error(`summarize needs 3 maxDets values, got [${md.join(', ')}]`);
  return DET_STATS.map(([ap, iouThr, areaRng, mi]) => ({
    ap,
    iouThr,
    areaRng,
    maxDets: md[mi],
    value: summarizeOne(arrays, ap, iouThr, areaRng, md[mi], onlyCat),
  }));
}

/**
 * Python '{:.Nf}'.format(x): the exact binary value rounded half to even. (toFixed rounds exact ties away
 * from zero, e.g. 0.0625 -> '0.063' where Python prints '0.062'.)
 */
export function pyFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (!Number.isFinite(x)) return s;
  const long = Math.abs(x).toFixed(Math.min(100, digits + 30));
  const point = long.indexOf('.');
  const cut = point < 0 ? long.length : point + 1 + digits;
  const rest = long.slice(cut);
  if (!/^50*$/.test(rest)) return s;
  const kept = long.slice(0, digits === 0 ? point : cut);
  const lastDigit = Number(kept[kept.length - 1]);
  if (lastDigit % 2 !== 0) return s;
  return (x < 0 ? '-' : '') + kept;
}

export function formatSummaryLine(row: SummaryRow, p: Params): string {
  const title = (row.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
  const type = row.ap ? '(AP)' : '(AR)';
  const iouStr =
    row.iouThr === null
      ? `${pyFixed(p.iouThrs[0], 2)}:${pyFixed(p.iouThrs[p.iouThrs.length - 1], 2)}`
      : pyFixed(row.iouThr, 2);
  return ` ${title} ${type} @[ IoU=${iouStr.padEnd(9)} | area=${row.areaRng.padStart(6)} | maxDets=${String(row.maxDets).padStart(3)} ] = ${pyFixed(row.value, 3)}`;
}
