/** mIoU over two directories of PNG label maps matched by file name (the eval-miou tool's logic). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readLabelPng } from './label-png';
import { MiouAccumulator, type MiouOptions, type MiouResult } from './miou';

function pngNames(dir: string, what: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new Error(`${what} directory ${dir}: ${(e as Error).message}`);
  }
  return names.filter((n) => n.toLowerCase().endsWith('.png')).sort();
}

export function evaluateMiouDirs(predDir: string, gtDir: string, options: MiouOptions): MiouResult & { files: string[] } {
  const gts = pngNames(gtDir, 'GT');
  const predNames = pngNames(predDir, 'prediction');
  const preds = new Set(predNames);
  if (gts.length === 0) throw new Error(`GT directory ${gtDir} holds no .png files`);
  // The prediction of GT `X.png` is `X.png` or segmentation predict's `X_labels.png` (its `X_mask.png` colour
  // images are not label maps and are left out).
  const predFor = (gt: string): string | undefined => {
    const labels = gt.replace(/\.png$/i, '_labels.png');
    return preds.has(gt) ? gt : preds.has(labels) ? labels : undefined;
  };
  const missing = gts.filter((n) => !predFor(n));
  if (missing.length) throw new Error(`no prediction for ${missing.length} GT file(s) in ${predDir}, e.g. ${missing.slice(0, 3).join(', ')} (looked for X.png and X_labels.png)`);
  const used = new Set(gts.map((n) => predFor(n)));
  const extra = predNames.filter((n) => !used.has(n) && !/_mask\.png$/i.test(n));
  if (extra.length) throw new Error(`prediction(s) without a GT file in ${gtDir}: ${extra.slice(0, 3).join(', ')}`);
  const acc = new MiouAccumulator(options);
  for (const name of gts) {
    const gt = readLabelPng(path.join(gtDir, name));
    const pred = readLabelPng(path.join(predDir, predFor(name)!));
    if (gt.width !== pred.width || gt.height !== pred.height) {
      throw new Error(`${name}: prediction is ${pred.width}x${pred.height} but the GT is ${gt.width}x${gt.height}`);
    }
    acc.add(pred.data, gt.data);
  }
  return { ...acc.result(), files: gts };
}

/** mmseg-style summary table (percentages, 2 decimals) of a result. */
export function formatMiouTable(r: MiouResult, classNames?: readonly string[]): string {
  const pct = (v: number): string => (Number.isNaN(v) ? 'nan' : (v * 100).toFixed(2));
  const lines = ['| Class | IoU | Acc |', '|---|---|---|'];
  r.IoU.forEach((iou, c) => lines.push(`| ${classNames?.[c] ?? String(c)} | ${pct(iou)} | ${pct(r.Acc[c])} |`));
  lines.push('', '| aAcc | mIoU | mAcc |', '|---|---|---|', `| ${pct(r.aAcc)} | ${pct(r.mIoU)} | ${pct(r.mAcc)} |`);
  return lines.join('\n');
}
