import * as path from 'node:path';
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { buildPipeline, initialSample, applyPipeline, Rng, type ConfigNode } from '@litv2/core';
import { checkImageOutPath, writeImageFile } from '@litv2/core/node';
import type { Detector } from '../detectors/detector';
import type { Detections } from '../post_processing/multiclass_nms';
import { collateDetection, disposeDetBatch } from '../structures/det_batch';

/** Runs the config's test pipeline on one image file and returns its detections in original-image pixels. */
export async function inferenceDetector(model: Detector, cfg: ConfigNode, imageFile: string): Promise<Detections> {
  const data = cfg.data as Record<string, ConfigNode> | undefined;
  const test = data?.test ?? data?.val;
  if (!test?.pipeline) throw new Error(`config has no data.test.pipeline to prepare ${imageFile}`);
  const pipeline = buildPipeline(test.pipeline, { path: 'data.test.pipeline' });
  const sample = await applyPipeline(pipeline, initialSample({ index: 0, filename: path.resolve(imageFile) }, new Rng(0)));
  if (!sample) throw new Error(`the test pipeline dropped ${imageFile}`);
  const batch = collateDetection([sample]);
  try {
    model.eval();
    const [dets] = await model.simpleTest(batch.imgs, batch.metas, true);
    return dets;
  } finally {
    disposeDetBatch(batch);
  }
}

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An SVG overlay with one rectangle and a "label score" tag per detection at or above `scoreThr`. */
export function detectionsSvg(dets: Detections, classes: readonly string[], width: number, height: number, scoreThr = 0.3): string {
  const lw = Math.max(2, Math.round(Math.min(width, height) / 200));
  const fs = Math.max(10, Math.round(Math.min(width, height) / 40));
  const parts: string[] = [];
  for (let i = 0; i < dets.labels.length; i++) {
    const [x1, y1, x2, y2, s] = dets.bboxes.subarray(i * 5, i * 5 + 5);
    if (s < scoreThr) continue;
    const c = PALETTE[dets.labels[i] % PALETTE.length];
    const text = `${esc(classes[dets.labels[i]] ?? String(dets.labels[i]))} ${s.toFixed(2)}`;
    const ty = Math.max(y1, fs + 2);
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${c}" stroke-width="${lw}"/>`,
      `<rect x="${x1.toFixed(1)}" y="${(ty - fs - 2).toFixed(1)}" width="${(text.length * fs * 0.6 + 4).toFixed(1)}" height="${fs + 4}" fill="${c}"/>`,
      `<text x="${(x1 + 2).toFixed(1)}" y="${(ty - 1).toFixed(1)}" font-family="sans-serif" font-size="${fs}" fill="#ffffff">${text}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/**
 * Draws detections on the image as the model saw it (EXIF orientation applied, as the test pipeline's
 * LoadImageFromFile does) and writes it in the format `outFile`'s extension names (png, jpg, webp), creating
 * its folder. Returns the number drawn.
 */
export async function drawDetections(imageFile: string, dets: Detections, classes: readonly string[], outFile: string, scoreThr = 0.3): Promise<number> {
  checkImageOutPath(outFile);
  let oriented: { data: Buffer; info: OutputInfo };
  try {
    oriented = await sharp(imageFile).rotate().png({ compressionLevel: 1 }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`cannot read image '${imageFile}': ${(e as Error).message}`);
  }
  const { width, height } = oriented.info;
  const svg = detectionsSvg(dets, classes, width, height, scoreThr);
  await writeImageFile(sharp(oriented.data).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]), outFile);
  let n = 0;
  for (let i = 0; i < dets.labels.length; i++) if (dets.bboxes[i * 5 + 4] >= scoreThr) n++;
  return n;
}
