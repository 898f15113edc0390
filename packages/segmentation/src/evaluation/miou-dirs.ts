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
  const preds = new Set(pngNames(predDir, 'prediction'));
  if (gts.length === 0) throw new Error(`GT directory ${gtDir} holds no .png files`);
  const missing = gts.filter((n) => !preds.has(n));
  if (missing.length) throw new Error(`no prediction for ${missing.length} GT file(s) in ${predDir}, e.g. ${missing.slice(0, 3).join(', ')}`);
  const extra = [...preds].filter((n) => !gts.includes(n));
  if (extra.length) throw new Error(`prediction(s) without a GT file in ${gtDir}: ${extra.slice(0, 3).join(', ')}`);
  const acc = new MiouAccumulator(options);
  for (const name of gts) {
    const gt = readLabelPng(path.join(gtDir, name));
    const pred = readLabelPng(path.join(predDir, name));
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
