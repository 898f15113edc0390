/**
 * Semantic-segmentation metrics as mmsegmentation 0.13 computes them (mmseg/core/evaluation/metrics.py):
 * per-image intersect/union histograms, totals summed over the dataset, then IoU = I/U and Acc = I/GT per
 * class (NaN for 0/0), aAcc = sum(I)/sum(GT), and mIoU / mAcc as np.nanmean. Values are float64, unrounded.
 */
import { npNanMean } from '@litv2/cocoapi';

export interface MiouOptions {
  numClasses: number;
  /** Label value excluded from evaluation (mmseg default 255). */
  ignoreIndex?: number;
  /** ADE20K convention on the GT only: 0 -> ignore, v -> v-1, 255 stays ignored. */
  reduceZeroLabel?: boolean;
}

export interface AreaTotals {
  intersect: Float64Array;
  union: Float64Array;
  predLabel: Float64Array;
  label: Float64Array;
}

export interface MiouResult {
  aAcc: number;
  mIoU: number;
  mAcc: number;
  /** Per class, NaN where the class is absent from both prediction and GT. */
  IoU: number[];
  /** Per class, NaN where the class is absent from the GT. */
  Acc: number[];
  totals: AreaTotals;
}

function checkOptions(o: MiouOptions): Required<MiouOptions> {
  if (!Number.isInteger(o.numClasses) || o.numClasses <= 0) {
    throw new Error(`numClasses must be a positive integer, got ${String(o.numClasses)}`);
  }
  return { numClasses: o.numClasses, ignoreIndex: o.ignoreIndex ?? 255, reduceZeroLabel: o.reduceZeroLabel ?? false };
}

/**
 * Accumulates intersect_and_union over images. Pixels whose (reduced) GT equals ignoreIndex are dropped.
 * As torch.histc(bins=C, min=0, max=C-1) does, values outside [0, C-1] are left out of their own histogram
 * while the pixel still counts in the other one.
 */
export class MiouAccumulator {
  readonly options: Required<MiouOptions>;
  readonly totals: AreaTotals;
  images = 0;

  constructor(options: MiouOptions) {
    this.options = checkOptions(options);
    const C = this.options.numClasses;
    this.totals = {
      intersect: new Float64Array(C),
      union: new Float64Array(C),
      predLabel: new Float64Array(C),
      label: new Float64Array(C),
    };
  }

  /** Add one image: prediction and raw GT label maps of equal size (any layout, same for both). */
  add(pred: ArrayLike<number>, gt: ArrayLike<number>): void {
    if (pred.length !== gt.length) throw new Error(`prediction has ${pred.length} pixels but the GT has ${gt.length}`);
    const { numClasses: C, ignoreIndex, reduceZeroLabel } = this.options;
    const inter = new Float64Array(C);
    const predArea = new Float64Array(C);
    const labelArea = new Float64Array(C);
    for (let i = 0; i < gt.length; i++) {
      let l = gt[i];
      if (reduceZeroLabel) {
        // mmseg: label[label == 0] = 255; label -= 1; label[label == 254] = 255
        if (l === 0) l = 255;
        l -= 1;
        if (l === 254) l = 255;
      }
      if (l === ignoreIndex) continue;
      const p = pred[i];
      const pIn = p >= 0 && p <= C - 1;
      const lIn = l >= 0 && l <= C - 1;
      if (pIn) predArea[Math.floor(p)]++;
      if (lIn) labelArea[Math.floor(l)]++;
      if (p === l && pIn) inter[Math.floor(p)]++;
    }
    const t = this.totals;
    for (let c = 0; c < C; c++) {
      t.intersect[c] += inter[c];
      t.predLabel[c] += predArea[c];
      t.label[c] += labelArea[c];
      t.union[c] += predArea[c] + labelArea[c] - inter[c];
    }
    this.images++;
  }

  result(): MiouResult {
    return totalAreaToMetrics(this.totals);
  }
}

/** total_area_to_metrics for 'mIoU' (IoU, Acc, aAcc) plus the nanmeans mmseg reports. */
export function totalAreaToMetrics(totals: AreaTotals): MiouResult {
  const C = totals.intersect.length;
  let sumI = 0;
  let sumL = 0;
  const IoU: number[] = new Array(C);
  const Acc: number[] = new Array(C);
  for (let c = 0; c < C; c++) {
    sumI += totals.intersect[c];
    sumL += totals.label[c];
    IoU[c] = totals.intersect[c] / totals.union[c];
    Acc[c] = totals.intersect[c] / totals.label[c];
  }
  return {
    aAcc: sumI / sumL,
    mIoU: npNanMean(IoU),
    mAcc: npNanMean(Acc),
    IoU,
    Acc,
    totals: {
      intersect: totals.intersect.slice(),
      union: totals.union.slice(),
      predLabel: totals.predLabel.slice(),
      label: totals.label.slice(),
    },
  };
}

/** Metrics over a list of (prediction, GT) label maps. */
export function evaluateMiou(preds: readonly ArrayLike<number>[], gts: readonly ArrayLike<number>[], options: MiouOptions): MiouResult {
  if (preds.length !== gts.length) throw new Error(`${preds.length} predictions for ${gts.length} GT maps`);
  const acc = new MiouAccumulator(options);
  preds.forEach((p, i) => acc.add(p, gts[i]));
  return acc.result();
}

/** JSON form: NaN -> null. */
export function miouToJson(r: MiouResult): { aAcc: number | null; mIoU: number | null; mAcc: number | null; IoU: (number | null)[]; Acc: (number | null)[] } {
  const n = (v: number): number | null => (Number.isNaN(v) ? null : v);
  return { aAcc: n(r.aAcc), mIoU: n(r.mIoU), mAcc: n(r.mAcc), IoU: r.IoU.map(n), Acc: r.Acc.map(n) };
}
