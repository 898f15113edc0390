import * as tf from '@tensorflow/tfjs';
import { LITv2, litv2Preset, seedEverything, stateDictFromBytes, type StateDict } from '@litv2/core';

/**
 * The demo's model code, shared by the page and by Node (the browser test computes the same pipeline on the
 * cpu backend to compare). Universal: nothing here touches files or Node.
 */
export interface DemoArch {
  embed_dim: number;
  depths: number[];
  num_heads: number[];
  num_classes: number;
  /** Input side the image is resized to. */
  input: number;
}

/** A small LITv2 (head dim 32 like the released sizes) that runs in a page in well under a second. */
export const TINY_ARCH: DemoArch = { embed_dim: 32, depths: [1, 1, 1, 1], num_heads: [1, 2, 4, 8], num_classes: 10, input: 64 };

export function buildModel(arch: DemoArch): LITv2 {
  const { alpha, local_ws } = litv2Preset('s');
  return new LITv2({ embed_dim: arch.embed_dim, depths: arch.depths, num_heads: arch.num_heads, num_classes: arch.num_classes, img_size: arch.input, alpha, local_ws, drop_path_rate: 0 }, { init: true }).eval();
}

/** The seeded tiny model (same weights in every runtime: tfjs' seeded initialisers are backend-independent). */
export function tinyModel(seed = 0): LITv2 {
  seedEverything(seed);
  return buildModel(TINY_ARCH);
}

/**
 * Architecture of a LITv2 classifier checkpoint read from its weights: stage widths from the patch embedding
 * and the downsampling layers, depths from the block keys, classes from the head; heads of 32 channels as in
 * every released size.
 */
export function archFromStateDict(dict: StateDict, name: string): DemoArch {
  const pe = dict['patch_embed.proj.weight'];
  const head = dict['head.weight'];
  if (!pe || !head) throw new Error(`${name}: not a LITv2 classifier checkpoint (no patch_embed.proj.weight / head.weight)`);
  const embed = pe.shape[0];
  const depths = [0, 1, 2, 3].map((i) => new Set(Object.keys(dict).map((k) => new RegExp(`^layers\\.${i}\\.blocks\\.(\\d+)\\.`).exec(k)?.[1]).filter((x) => x !== undefined)).size);
  if (depths.some((d) => d === 0)) throw new Error(`${name}: LITv2 checkpoint without blocks in every stage (depths ${depths.join(',')})`);
  const heads = [1, 2, 4, 8].map((m) => Math.max(1, (embed * m) / 32));
  const [rows, cols = 0] = head.shape;
  const classes = rows === embed * 8 ? cols : rows;
  return { embed_dim: embed, depths, num_heads: heads, num_classes: classes, input: classes === 1000 ? 224 : TINY_ARCH.input };
}

/** A LITv2 classifier from the bytes of our checkpoint or an official `.pth`. */
export function modelFromBytes(bytes: Uint8Array, name: string): { model: LITv2; arch: DemoArch } {
  const dict = stateDictFromBytes(bytes, name);
  try {
    const arch = archFromStateDict(dict, name);
    const model = buildModel(arch);
    model.loadStateDict(dict, { strict: true });
    return { model, arch };
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** RGBA (or RGB) bytes -> normalised [1, side, side, 3] (bilinear resize, ImageNet mean/std). */
export function preprocess(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, side: number): tf.Tensor4D {
  return tf.tidy(() => {
    const channels = pixels.length / (width * height);
    const img = tf.tensor3d(Float32Array.from(pixels), [height, width, channels]).slice([0, 0, 0], [height, width, 3]);
    const resized = tf.image.resizeBilinear(img, [side, side], false, true);
    return resized.div(255).sub(MEAN).div(STD).expandDims(0) as tf.Tensor4D;
  });
}

export interface Prediction {
  logits: number[];
  top5: { index: number; prob: number }[];
  ms: number;
}

/** Classifies one image; reads back asynchronously (GPU backends in a page cannot read synchronously). */
export async function classify(model: LITv2, arch: DemoArch, pixels: Uint8Array | Uint8ClampedArray, width: number, height: number): Promise<Prediction> {
  const t0 = performance.now();
  const logitsT = tf.tidy(() => model.forward(preprocess(pixels, width, height, arch.input)).squeeze([0]));
  const logits = Array.from(await logitsT.data());
  const ms = performance.now() - t0;
  logitsT.dispose();
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  const top5 = e.map((v, index) => ({ index, prob: v / z })).sort((a, b) => b.prob - a.prob).slice(0, 5);
  return { logits, top5, ms };
}

/** What the page exposes as `window.litv2Demo` (the browser test drives it). */
export interface DemoHook {
  /** Resolves to the tfjs backend chosen. */
  ready: Promise<string>;
  classifyPixels(pixels: Uint8ClampedArray | Uint8Array, width: number, height: number): Promise<Prediction & { backend: string }>;
  /** Replaces the model with a checkpoint's; returns its description. */
  loadCheckpointBytes(bytes: Uint8Array, name: string): string;
}
