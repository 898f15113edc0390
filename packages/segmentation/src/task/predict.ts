import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, Rng, applyPipeline, buildPipeline, initialSample, type ConfigNode, type HostImage, type Transform } from '@litv2/core';
import { encodeLabelPng, writeRgbImageFile } from '@litv2/core/node';
import { ADE20K_PALETTE } from '../data/ade20k_meta';
import { defaultPalette, segAnnotations } from '../data/seg_dataset';
import type { EncoderDecoder } from '../models/encoder_decoder';

/** Colours a label map with a palette (label ≥ palette length, e.g. 255, stays black). */
export function colorizeLabels(labels: ArrayLike<number>, height: number, width: number, palette: readonly (readonly [number, number, number])[]): HostImage {
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < labels.length; i++) {
    const c = palette[labels[i]];
    if (!c) continue;
    data[i * 3] = c[0];
    data[i * 3 + 1] = c[1];
    data[i * 3 + 2] = c[2];
  }
  return { data, height, width, channels: 3 };
}

export interface SegPrediction {
  labels: Int32Array;
  height: number;
  width: number;
}

/** The test pipeline and palette of `cfg.data.test` without listing the dataset (predict works on any image). */
export function testPipelineFromConfig(cfg: ConfigNode, file?: string): { pipeline: Transform[]; palette: readonly (readonly [number, number, number])[]; classes?: readonly string[] } {
  const test = ((cfg.data as ConfigNode | undefined)?.test ?? null) as ConfigNode | null;
  if (!test) throw new ConfigError("missing 'data.test'", { file, path: 'data.test' });
  const pipeline = buildPipeline(segAnnotations(test.pipeline), { file, path: 'data.test.pipeline' });
  const numClasses = Number(((cfg.model as ConfigNode).decode_head as ConfigNode).num_classes);
  const palette = (test.palette as [number, number, number][] | undefined) ?? (test.type === 'ADE20KDataset' ? ADE20K_PALETTE : defaultPalette(numClasses));
  return { pipeline, palette, classes: test.classes as string[] | undefined };
}

/** Runs a test pipeline on one image file and returns the label map at the original size. */
export async function predictImage(model: EncoderDecoder, pipeline: Transform[], imageFile: string): Promise<SegPrediction> {
  const info = { index: 0, filename: path.resolve(imageFile) };
  const sample = await applyPipeline(pipeline, initialSample(info, new Rng(0)));
  if (!sample?.img) throw new Error(`${imageFile}: the test pipeline produced no image`);
  const { data, height, width, channels } = sample.img;
  const img = tf.tensor4d(data instanceof Float32Array ? data : Float32Array.from(data), [1, height, width, channels]);
  try {
    // tidy: an image the model cannot take (e.g. 2000x20) throws midway without leaking its intermediates.
    const pred = tf.tidy(() => model.simpleTest(img, sample.meta, true));
    const labels = pred.dataSync() as Int32Array;
    const [h, w] = pred.shape;
    pred.dispose();
    return { labels: Int32Array.from(labels), height: h, width: w };
  } finally {
    img.dispose();
  }
}

/** Writes `<stem>_mask.png` (palette colours) and `<stem>_labels.png` (raw class indices) into `outDir`. */
export async function writePrediction(p: SegPrediction, palette: readonly (readonly [number, number, number])[], outDir: string, stem: string): Promise<{ mask: string; labels: string }> {
  return writePredictionFiles(p, palette, { mask: path.join(outDir, `${stem}_mask.png`), labels: path.join(outDir, `${stem}_labels.png`) });
}

/** Writes the palette-coloured mask and the raw 8-bit label map to the given files (folders created). */
export async function writePredictionFiles(p: SegPrediction, palette: readonly (readonly [number, number, number])[], files: { mask: string; labels: string }): Promise<{ mask: string; labels: string }> {
  for (const f of [files.mask, files.labels]) fs.mkdirSync(path.dirname(f), { recursive: true });
  // The colour mask in the format its extension names; the label map stays a lossless 8-bit PNG.
  await writeRgbImageFile(colorizeLabels(p.labels, p.height, p.width, palette), files.mask);
  fs.writeFileSync(files.labels, encodeLabelPng({ data: Uint8Array.from(p.labels), height: p.height, width: p.width }));
  return files;
}
