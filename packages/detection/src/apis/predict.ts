import * as path from 'node:path';
import sharp from 'sharp';
import type { OutputInfo, OverlayOptions } from 'sharp';
import { buildPipeline, initialSample, applyPipeline, Rng, type ConfigNode } from '@litv2/core';
import { checkImageOutPath, writeImageFile } from '@litv2/core/node';
import type { BinaryMask } from '@litv2/cocoapi';
import type { Detector } from '../detectors/detector';
import { isMaskDetector } from '../detectors/two_stage';
import type { Detections } from '../post_processing/multiclass_nms';
import { collateDetection, disposeDetBatch } from '../structures/det_batch';

/** Detections of one image, with one binary mask per detection (null: none) for mask detectors. */
export type DetectionsWithMasks = Detections & { masks?: (BinaryMask | null)[] };

/** Runs the config's test pipeline on one image file and returns its detections (and masks) in original-image pixels. */
export async function inferenceDetector(model: Detector, cfg: ConfigNode, imageFile: string): Promise<DetectionsWithMasks> {
  const data = cfg.data as Record<string, ConfigNode> | undefined;
  const test = data?.test ?? data?.val;
  if (!test?.pipeline) throw new Error(`config has no data.test.pipeline to prepare ${imageFile}`);
  const pipeline = buildPipeline(test.pipeline, { path: 'data.test.pipeline' });
  const sample = await applyPipeline(pipeline, initialSample({ index: 0, filename: path.resolve(imageFile) }, new Rng(0)));
  if (!sample) throw new Error(`the test pipeline dropped ${imageFile}`);
  const batch = collateDetection([sample]);
  try {
    model.eval();
    if (isMaskDetector(model)) {
      const [r] = await model.simpleTestWithMasks(batch.imgs, batch.metas, true);
      return { ...r.dets, masks: r.masks?.masks ?? [] };
    }
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
export async function drawDetections(imageFile: string, dets: DetectionsWithMasks, classes: readonly string[], outFile: string, scoreThr = 0.3): Promise<number> {
  checkImageOutPath(outFile);
  let oriented: { data: Buffer; info: OutputInfo };
  try {
    oriented = await sharp(imageFile).rotate().png({ compressionLevel: 1 }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`cannot read image '${imageFile}': ${(e as Error).message}`);
  }
  const { width, height } = oriented.info;
  const svg = detectionsSvg(dets, classes, width, height, scoreThr);
  const layers: OverlayOptions[] = [];
  const overlay = dets.masks ? maskOverlay(dets, width, height, scoreThr) : null;
  if (overlay) layers.push({ input: overlay, raw: { width, height, channels: 4 }, top: 0, left: 0 });
  layers.push({ input: Buffer.from(svg), top: 0, left: 0 });
  await writeImageFile(sharp(oriented.data).composite(layers), outFile);
  let n = 0;
  for (let i = 0; i < dets.labels.length; i++) if (dets.bboxes[i * 5 + 4] >= scoreThr) n++;
  return n;
}

/**
 * One RGBA layer with each drawn detection's mask in its class colour at 50% opacity (later detections on top),
 * or null when no drawn detection has a mask. Masks are column-major COCO binary masks at the image size.
 */
export function maskOverlay(dets: DetectionsWithMasks, width: number, height: number, scoreThr = 0.3): Buffer | null {
  const buf = Buffer.alloc(width * height * 4);
  let any = false;
  for (let i = dets.labels.length - 1; i >= 0; i--) {
    const m = dets.masks?.[i];
    if (!m || dets.bboxes[i * 5 + 4] < scoreThr) continue;
    if (m.h !== height || m.w !== width) throw new Error(`mask ${i} is ${m.h}x${m.w}, the image ${height}x${width}`);
    const hex = PALETTE[dets.labels[i] % PALETTE.length];
    const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
    for (let x = 0; x < width; x++) {
      for (let y = 0; y < height; y++) {
        if (!m.data[x * height + y]) continue;
        const o = (y * width + x) * 4;
        buf[o] = rgb[0];
        buf[o + 1] = rgb[1];
        buf[o + 2] = rgb[2];
        buf[o + 3] = 128;
        any = true;
      }
    }
  }
  return any ? buf : null;
}
