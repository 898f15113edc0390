/**
 * COCOeval for bbox and segm, with pycocotools' exact semantics (matching order, crowd handling, area ranges,
 * linspace thresholds, interpolation, numpy summation order) but columnar storage: per-image results are kept
 * as one byte per (threshold, detection) in per-category pools instead of one object per image.
 */
import { sortImageIds, type COCO, type ImageId } from './coco';
import { buildTable, maskOf, type AnnTable } from './eval-data';
import { boxPairIou } from './iou';
import { rleArea, rleIntersectUnion, type RLE } from './rle';
import { Params, type IouType } from './params';
import { formatSummaryLine, summarizeDets, type SummaryArrays } from './summarize';

/** pycocotools' per-image, per-category, per-area evaluation record (evalImgs entries). */
export interface EvalImg {
  image_id: ImageId;
  category_id: number;
  aRng: [number, number];
  maxDet: number;
  dtIds: number[];
  gtIds: number[];
  /** [T][D]: id of the matched GT, 0 if none. */
  dtMatches: number[][];
  /** [T][G]: id of the matched detection, 0 if none. */
  gtMatches: number[][];
  dtScores: number[];
  gtIgnore: number[];
  dtIgnore: number[][];
}

export interface EvalResult {
  params: Params;
  /** [T, R, K, A, M] */
  counts: [number, number, number, number, number];
  /** Row-major [T][R][K][A][M], -1 where a (category, area) has no GT. */
  precision: Float64Array;
  /** Row-major [T][K][A][M]. */
  recall: Float64Array;
  /** Row-major [T][R][K][A][M]: score at each recall threshold. */
  scores: Float64Array;
}

/** Results of one category for all images and areas (only images with a GT or a detection have a record). */
interface CategoryEval {
  nRec: number;
  /** Detections of record r are positions recStart[r] .. recStart[r+1] of the pool (sorted by score). */
  recStart: Int32Array;
  scores: Float64Array;
  /** Per area: [pool position][T] -> 0 ignored, 1 true positive, 2 false positive. */
  codes: Uint8Array[];
  /** Per area: number of non-ignored GTs over all records. */
  npig: Int32Array;
}

const CODE_IGNORED = 0;
const CODE_TP = 1;
const CODE_FP = 2;
const EPS = 2 ** -52; // np.spacing(1)

function uniqueSorted(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** True when a score in [lo, hi) (through `order` when given) is NaN: results files may hold bare NaN scores. */
function hasNaN(score: Float64Array, order: Int32Array | null, lo: number, hi: number): boolean {
  for (let j = lo; j < hi; j++) if (Number.isNaN(score[order ? order[j] : j])) return true;
  return false;
}

/**
 * Descending order with NaN last (numpy's argsort of -score puts NaN at the end); 0 for ties, so the caller's
 * index tie-break keeps the sort stable like kind='mergesort'.
 */
function descNaNLast(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  return a === b ? 0 : b - a;
}

/** Grow-only scratch buffers for the per-image kernels. */
class Scratch {
  f64 = new Float64Array(0);
  i32 = new Int32Array(0);
  f64b = new Float64Array(0);
  f64c = new Float64Array(0);
  u8 = new Uint8Array(0);
  u8b = new Uint8Array(0);
  u8c = new Uint8Array(0);
  i32b = new Int32Array(0);
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(buf: T, n: number, make: (n: number) => T): T {
  return buf.length >= n ? buf : make(Math.max(n, buf.length * 2));
}

export class COCOeval {
  cocoGt: COCO;
  cocoDt: COCO;
  params: Params;
  stats: number[] = [];
  summaryLines: string[] = [];
  eval: EvalResult | null = null;

  private paramsEval: Params | null = null;
  private gt: AnnTable | null = null;
  private dt: AnnTable | null = null;
  private cats: CategoryEval[] = [];
  private thr = new Float64Array(0);
  private s = new Scratch();

  constructor(cocoGt: COCO, cocoDt: COCO, iouType: IouType = 'segm') {
    this.cocoGt = cocoGt;
    this.cocoDt = cocoDt;
    this.params = new Params(iouType);
    this.params.imgIds = sortImageIds([...cocoGt.getImgIds()], cocoGt.source);
    this.params.catIds = [...cocoGt.getCatIds()].sort((a, b) => a - b);
  }

  /** Normalise params as evaluate() does and build the columnar GT/DT tables. */
  private prepare(): void {
    const p = this.params;
    p.imgIds = sortImageIds([...new Set(p.imgIds)], this.cocoGt.source);
    if (p.useCats) p.catIds = uniqueSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    this.gt = buildTable(this.cocoGt, p.imgIds, p.catIds, p.iouType, true);
    this.dt = buildTable(this.cocoDt, p.imgIds, p.catIds, p.iouType, false);
    // A GT-DT pair matches when iou >= min(thr, 1 - 1e-10).
    this.thr = Float64Array.from(p.iouThrs, (t) => Math.min(t, 1 - 1e-10));
  }

  private catCount(): number {
    return this.params.useCats ? this.params.catIds.length : 1;
  }

  /** Pool range [lo, hi) of the group (image i, category slot k) in a table's `order`. */
  private range(t: AnnTable, i: number, k: number): [number, number] {
    const K = this.params.catIds.length;
    if (this.params.useCats) return [t.start[i * K + k], t.start[i * K + k + 1]];
    return [t.start[i * K], t.start[(i + 1) * K]];
  }

  /** Detections of a group sorted by score (descending, stable), truncated to maxDet: table indices. */
  private sortedDets(lo: number, hi: number, maxDet: number): Int32Array {
    const dt = this.dt as AnnTable;
    const n = hi - lo;
    const pos = new Int32Array(n);
    for (let j = 0; j < n; j++) pos[j] = j;
    const score = dt.score;
    const order = dt.order;
    if (hasNaN(score, order, lo, hi)) pos.sort((a, b) => descNaNLast(score[order[lo + a]], score[order[lo + b]]) || a - b);
    else pos.sort((a, b) => score[order[lo + b]] - score[order[lo + a]] || a - b);
    const D = Math.min(n, maxDet);
    const out = new Int32Array(D);
    for (let j = 0; j < D; j++) out[j] = order[lo + pos[j]];
    return out;
  }

  /** IoU of sorted dets (rows) vs GTs of the group in file order (columns), row-major into out. */
  private iouInto(dIdx: Int32Array, gLo: number, G: number, out: Float64Array): void {
    const gt = this.gt as AnnTable;
    const dt = this.dt as AnnTable;
    const D = dIdx.length;
    const gb = gt.box;
    const db = dt.box;
    for (let g = 0; g < G; g++) {
      const gj = gt.order[gLo + g];
      const gx = gb[4 * gj];
      const gy = gb[4 * gj + 1];
      const gw = gb[4 * gj + 2];
      const gh = gb[4 * gj + 3];
      const crowd = gt.crowd[gj] === 1;
      for (let d = 0; d < D; d++) {
        const dj = dIdx[d];
        out[d * G + g] = boxPairIou(db[4 * dj], db[4 * dj + 1], db[4 * dj + 2], db[4 * dj + 3], gx, gy, gw, gh, crowd);
      }
    }
    if (this.params.iouType !== 'segm') return;
    // Masks: exact run walk where the mask boxes overlap (boxes here are the masks' bboxes).
    // Detection masks are decoded once per group, only if their box overlaps a GT box.
    const dr: (RLE | undefined)[] = new Array(D);
    for (let g = 0; g < G; g++) {
      const gj = gt.order[gLo + g];
      const GR = maskOf(gt, gj);
      const crowd = gt.crowd[gj] === 1;
      for (let d = 0; d < D; d++) {
        const o = d * G + g;
        if (!(out[o] > 0)) continue;
        const DR = dr[d] ?? (dr[d] = maskOf(dt, dIdx[d]));
        if (DR.h !== GR.h || DR.w !== GR.w) {
          out[o] = -1;
          continue;
        }
        const { inter, union } = rleIntersectUnion(DR, GR);
        out[o] = inter === 0 ? 0 : inter / (crowd ? rleArea(DR) : union);
      }
    }
  }

  /**
   * Greedy matching of one (image, category) for one area range, for every IoU threshold. Fills the scratch
   * buffers: s.i32 gt order, s.u8 gt ignore (sorted), s.f64b dtMatches [T][D] (gt ids), s.u8b dtIgnore [T][D],
   * s.f64c gtMatches [T][G] (det ids). Returns the number of non-ignored GTs.
   */
  private matchInto(dIdx: Int32Array, gLo: number, G: number, iou: Float64Array, aLo: number, aHi: number): number {
    const gt = this.gt as AnnTable;
    const dt = this.dt as AnnTable;
    const s = this.s;
    const T = this.thr.length;
    const D = dIdx.length;
    s.i32 = grow(s.i32, G, (n) => new Int32Array(n));
    s.u8 = grow(s.u8, G, (n) => new Uint8Array(n));
    s.u8c = grow(s.u8c, G, (n) => new Uint8Array(n));
    s.f64 = grow(s.f64, G, (n) => new Float64Array(n));
    s.f64b = grow(s.f64b, T * D, (n) => new Float64Array(n));
    s.u8b = grow(s.u8b, T * D, (n) => new Uint8Array(n));
    s.f64c = grow(s.f64c, T * G, (n) => new Float64Array(n));
    const gtOrder = s.i32;
    const gtIg = s.u8;
    const crowdS = s.u8c;
    const gtIdS = s.f64;
    const dtm = s.f64b;
    const dtIg = s.u8b;
    const gtm = s.f64c;
    // Stable partition: non-ignored GTs first (np.argsort(kind='mergesort') of the 0/1 ignore flags).
    let nOk = 0;
    for (let g = 0; g < G; g++) {
      const gj = gt.order[gLo + g];
      const a = gt.area[gj];
      if (!(gt.crowd[gj] || a < aLo || a > aHi)) nOk++;
    }
    let p0 = 0;
    let p1 = nOk;
    for (let g = 0; g < G; g++) {
      const gj = gt.order[gLo + g];
      const a = gt.area[gj];
      const ig = gt.crowd[gj] || a < aLo || a > aHi ? 1 : 0;
      const slot = ig ? p1++ : p0++;
      gtOrder[slot] = g;
      gtIg[slot] = ig;
      crowdS[slot] = gt.crowd[gj];
      gtIdS[slot] = gt.id[gj];
    }
    dtm.fill(0, 0, T * D);
    dtIg.fill(0, 0, T * D);
    gtm.fill(0, 0, T * G);
    if (D > 0 && G > 0) {
      for (let t = 0; t < T; t++) {
        const thr = this.thr[t];
        const gRow = t * G;
        for (let d = 0; d < D; d++) {
          let best = thr;
          let m = -1;
          const row = d * G;
          for (let gi = 0; gi < G; gi++) {
            // A GT already matched is skipped unless it is a crowd region.
            if (gtm[gRow + gi] > 0 && !crowdS[gi]) continue;
            // Once matched to a regular GT, stop at the first ignored one.
            if (m > -1 && gtIg[m] === 0 && gtIg[gi] === 1) break;
            const v = iou[row + gtOrder[gi]];
            if (v < best) continue;
            best = v;
            m = gi;
          }
          if (m === -1) continue;
          dtIg[t * D + d] = gtIg[m];
          dtm[t * D + d] = gtIdS[m];
          gtm[gRow + m] = dt.id[dIdx[d]];
        }
      }
    }
    // Unmatched detections outside the area range are ignored.
    for (let d = 0; d < D; d++) {
      const a = dt.area[dIdx[d]];
      if (!(a < aLo || a > aHi)) continue;
      for (let t = 0; t < T; t++) if (dtm[t * D + d] === 0) dtIg[t * D + d] = 1;
    }
    return nOk;
  }

  /** Run the per-image evaluation for every (category, area, image). */
  evaluate(): void {
    this.prepare();
    const p = this.params;
    const gt = this.gt as AnnTable;
    const dt = this.dt as AnnTable;
    const I = p.imgIds.length;
    const K = this.catCount();
    const A = p.areaRng.length;
    const T = this.thr.length;
    const maxDet = p.maxDets[p.maxDets.length - 1];
    const cats: CategoryEval[] = [];
    let iou = new Float64Array(0);
    for (let k = 0; k < K; k++) {
      // Records exist for images with at least one GT or detection of this category.
      const recImg: number[] = [];
      const recStart: number[] = [0];
      for (let i = 0; i < I; i++) {
        const [gLo, gHi] = this.range(gt, i, k);
        const [dLo, dHi] = this.range(dt, i, k);
        if (gHi === gLo && dHi === dLo) continue;
        recImg.push(i);
        recStart.push(recStart[recStart.length - 1] + Math.min(dHi - dLo, maxDet));
      }
      const total = recStart[recStart.length - 1];
      const cat: CategoryEval = {
        nRec: recImg.length,
        recStart: Int32Array.from(recStart),
        scores: new Float64Array(total),
        codes: Array.from({ length: A }, () => new Uint8Array(T * total)),
        npig: new Int32Array(A),
      };
      for (let r = 0; r < recImg.length; r++) {
        const i = recImg[r];
        const [gLo, gHi] = this.range(gt, i, k);
        const [dLo, dHi] = this.range(dt, i, k);
        const G = gHi - gLo;
        const dIdx = this.sortedDets(dLo, dHi, maxDet);
        const D = dIdx.length;
        const off = cat.recStart[r];
        for (let d = 0; d < D; d++) cat.scores[off + d] = dt.score[dIdx[d]];
        if (D > 0 && G > 0) {
          if (iou.length < D * G) iou = new Float64Array(Math.max(D * G, iou.length * 2));
          this.iouInto(dIdx, gLo, G, iou);
        }
        for (let a = 0; a < A; a++) {
          const [aLo, aHi] = p.areaRng[a];
          cat.npig[a] += this.matchInto(dIdx, gLo, G, iou, aLo, aHi);
          const codes = cat.codes[a];
          const dtm = this.s.f64b;
          const dtIg = this.s.u8b;
          for (let d = 0; d < D; d++) {
            const base = (off + d) * T;
            for (let t = 0; t < T; t++) {
              const q = t * D + d;
              codes[base + t] = dtIg[q] ? CODE_IGNORED : dtm[q] !== 0 ? CODE_TP : CODE_FP;
            }
          }
        }
      }
      cats.push(cat);
    }
    this.cats = cats;
    this.paramsEval = p.clone();
    this.eval = null;
  }

  /**
   * Accumulate per-image results into precision / recall / scores arrays (pycocotools accumulate()).
   *
   * Same numbers as pycocotools, less work: detections are sorted once per category (the order for a smaller
   * maxDet is the same order restricted to each image's top maxDet), all thresholds are counted in one pass,
   * and precision is evaluated only where it can matter: it rises only at true positives, so the
   * right-to-left maximum from any index is the larger of the value there and the values at later true
   * positives, each computed with the same expression tp / (fp + tp + eps).
   */
  accumulate(): void {
    const p = this.paramsEval;
    if (!p) throw new Error('accumulate: run evaluate() first');
    const T = p.iouThrs.length;
    const R = p.recThrs.length;
    const K = this.catCount();
    const A = p.areaRng.length;
    const M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    const recThrs = p.recThrs;
    const maxDetAll = p.maxDets[M - 1];
    const tp = new Int32Array(T);
    const fp = new Int32Array(T);
    const nEv = new Int32Array(T);
    for (let k = 0; k < K; k++) {
      const cat = this.cats[k];
      if (cat.nRec === 0) continue;
      const total = cat.scores.length;
      const sc = cat.scores;
      // Rank of each pool position inside its image's score-sorted list.
      const rank = new Int32Array(total);
      for (let r = 0; r < cat.nRec; r++) for (let j = cat.recStart[r]; j < cat.recStart[r + 1]; j++) rank[j] = j - cat.recStart[r];
      // Stable sort by score of the image-ordered concatenation (ties: image order, then file order).
      const all = new Int32Array(total);
      for (let j = 0; j < total; j++) all[j] = j;
      if (hasNaN(sc, null, 0, total)) all.sort((x, y) => descNaNLast(sc[x], sc[y]) || x - y);
      else all.sort((x, y) => sc[y] - sc[x] || x - y);
      let evJ = new Int32Array(0);
      let evPr = new Float64Array(0);
      for (let m = 0; m < M; m++) {
        const maxDet = p.maxDets[m];
        let pos = all;
        if (maxDet < maxDetAll) {
          let n = 0;
          for (let j = 0; j < total; j++) if (rank[all[j]] < maxDet) n++;
          pos = new Int32Array(n);
          n = 0;
          for (let j = 0; j < total; j++) if (rank[all[j]] < maxDet) pos[n++] = all[j];
        }
        const n = pos.length;
        for (let a = 0; a < A; a++) {
          const npig = cat.npig[a];
          if (npig === 0) continue;
          const codes = cat.codes[a];
          // True positives per threshold are at most npig; events hold (index, precision) of each TP.
          const cap = Math.min(n, npig);
          if (evJ.length < T * cap) {
            evJ = new Int32Array(T * cap);
            evPr = new Float64Array(T * cap);
          }
          tp.fill(0);
          fp.fill(0);
          nEv.fill(0);
          const pr0 = new Float64Array(T);
          for (let j = 0; j < n; j++) {
            const base = pos[j] * T;
            for (let t = 0; t < T; t++) {
              const c = codes[base + t];
              if (c === CODE_TP) {
                const q = t * cap + nEv[t]++;
                tp[t]++;
                evJ[q] = j;
                evPr[q] = tp[t] / (fp[t] + tp[t] + EPS);
              } else if (c === CODE_FP) fp[t]++;
            }
            if (j === 0) for (let t = 0; t < T; t++) pr0[t] = tp[t] / (fp[t] + tp[t] + EPS);
          }
          for (let t = 0; t < T; t++) {
            recall[((t * K + k) * A + a) * M + m] = n > 0 ? tp[t] / npig : 0;
            const e0 = t * cap;
            const ne = nEv[t];
            // Right-to-left running maximum over the TP events.
            for (let e = ne - 1; e > 0; e--) if (evPr[e0 + e] > evPr[e0 + e - 1]) evPr[e0 + e - 1] = evPr[e0 + e];
            // searchsorted(rc, thr, 'left'): index 0 if rc[0] >= thr, else the first TP event whose recall
            // reaches thr (recall only changes at TP events).
            const rc0 = n > 0 ? (codes[pos[0] * T + t] === CODE_TP ? 1 : 0) / npig : 0;
            let e = 0;
            for (let ri = 0; ri < R; ri++) {
              const thr = recThrs[ri];
              const o = (((t * R + ri) * K + k) * A + a) * M + m;
              let idx: number;
              let q: number;
              if (n > 0 && rc0 >= thr) {
                idx = 0;
                q = ne > 0 && evPr[e0] > pr0[t] ? evPr[e0] : pr0[t];
              } else {
                while (e < ne && (e + 1) / npig < thr) e++;
                if (e >= ne) {
                  for (let rj = ri; rj < R; rj++) {
                    const oj = (((t * R + rj) * K + k) * A + a) * M + m;
                    precision[oj] = 0;
                    scores[oj] = 0;
                  }
                  break;
                }
                idx = evJ[e0 + e];
                q = evPr[e0 + e];
              }
              precision[o] = q;
              scores[o] = sc[pos[idx]];
            }
          }
        }
      }
    }
    this.eval = { params: p, counts: [T, R, K, A, M], precision, recall, scores };
  }

  private summaryArrays(): SummaryArrays {
    if (!this.eval) throw new Error('Please run accumulate() first');
    return { ...this.eval, params: this.paramsEval as Params };
  }

  /**
   * The 12 standard stats; prints pycocotools' summary lines through `log` (console.log by default, pass
   * null for silence). Lines are also kept in `summaryLines`.
   */
  summarize(log: ((line: string) => void) | null = console.log): number[] {
    const arrays = this.summaryArrays();
    const rows = summarizeDets(arrays, null);
    this.stats = rows.map((r) => r.value);
    this.summaryLines = rows.map((r) => formatSummaryLine(r, arrays.params));
    if (log) for (const line of this.summaryLines) log(line);
    return this.stats;
  }

  /** The 12 stats restricted to each category (keyed by category id; -1 where a category has no GT). */
  perCategoryStats(): Map<number, number[]> {
    const arrays = this.summaryArrays();
    const out = new Map<number, number[]>();
    const p = arrays.params;
    if (!p.useCats) return out;
    p.catIds.forEach((catId, k) => out.set(catId, summarizeDets(arrays, k).map((r) => r.value)));
    return out;
  }

  /** pycocotools computeIoU: rows = detections by score (top maxDets[-1]), columns = GTs in file order. */
  computeIoU(imgId: number, catId: number): number[][] {
    if (!this.gt) this.prepare();
    const loc = this.locate(imgId, catId);
    if (!loc) return [];
    const { dIdx, gLo, G } = loc;
    const D = dIdx.length;
    if (D === 0 || G === 0) return [];
    const iou = new Float64Array(D * G);
    this.iouInto(dIdx, gLo, G, iou);
    const rows: number[][] = [];
    for (let d = 0; d < D; d++) rows.push(Array.from(iou.subarray(d * G, (d + 1) * G)));
    return rows;
  }

  /** pycocotools evaluateImg for one image / category / area range; null when it has no GT and no det. */
  evaluateImg(imgId: number, catId: number, aRng: [number, number], maxDet: number): EvalImg | null {
    if (!this.gt) this.prepare();
    const loc = this.locate(imgId, catId);
    if (!loc) return null;
    const { gLo, G } = loc;
    const dIdx = loc.dIdx.subarray(0, Math.min(loc.dIdx.length, maxDet));
    const D = dIdx.length;
    if (D === 0 && G === 0) return null;
    const iou = new Float64Array(loc.dIdx.length * G);
    if (D > 0 && G > 0) this.iouInto(loc.dIdx, gLo, G, iou);
    const gt = this.gt as AnnTable;
    const dt = this.dt as AnnTable;
    // The IoU rows of the truncated list are the first rows of the full matrix (same column count).
    this.matchInto(dIdx, gLo, G, iou, aRng[0], aRng[1]);
    const T = this.thr.length;
    const s = this.s;
    const rows = <A extends Float64Array | Uint8Array>(buf: A, n: number): number[][] =>
      Array.from({ length: T }, (_, t) => Array.from(buf.subarray(t * n, (t + 1) * n)));
    return {
      image_id: imgId,
      category_id: catId,
      aRng: [aRng[0], aRng[1]],
      maxDet,
      dtIds: Array.from(dIdx, (j) => dt.id[j]),
      gtIds: Array.from({ length: G }, (_, g) => gt.id[gt.order[gLo + s.i32[g]]]),
      dtMatches: rows(s.f64b, D),
      gtMatches: rows(s.f64c, G),
      dtScores: Array.from(dIdx, (j) => dt.score[j]),
      gtIgnore: Array.from(s.u8.subarray(0, G)),
      dtIgnore: rows(s.u8b, D),
    };
  }

  private locate(imgId: number, catId: number): { dIdx: Int32Array; gLo: number; G: number } | null {
    const p = this.params;
    const i = p.imgIds.indexOf(imgId);
    const k = p.useCats ? p.catIds.indexOf(catId) : 0;
    if (i < 0 || k < 0) return null;
    const [gLo, gHi] = this.range(this.gt as AnnTable, i, k);
    const [dLo, dHi] = this.range(this.dt as AnnTable, i, k);
    return { dIdx: this.sortedDets(dLo, dHi, p.maxDets[p.maxDets.length - 1]), gLo, G: gHi - gLo };
  }
}
