import * as tf from '@tensorflow/tfjs';
import type { Batch, Sample } from './types';

/**
 * Default collate: pads every image (bottom/right, value 0) to the largest height and width in the batch and
 * stacks them into an NHWC float32 tensor; label maps are padded with 255 into an [N, H, W] int32 tensor.
 * Every other field stays on the samples (boxes, labels, metas). The tensors belong to the caller.
 */
export function collate(samples: Sample[]): Batch {
  if (!samples.length) throw new Error('collate: empty batch');
  const imgs = samples.map((s, i) => {
    if (!s.img) throw new Error(`collate: sample ${i} (${s.info.filename}) has no image (missing LoadImageFromFile?)`);
    return s.img;
  });
  const c = imgs[0].channels;
  for (const [i, im] of imgs.entries()) {
    if (im.channels !== c) throw new Error(`collate: sample ${i} (${samples[i].info.filename}) has ${im.channels} channels, expected ${c}`);
  }
  const H = Math.max(...imgs.map((m) => m.height));
  const W = Math.max(...imgs.map((m) => m.width));
  const data = new Float32Array(samples.length * H * W * c);
  imgs.forEach((im, n) => {
    const rowLen = im.width * c;
    for (let y = 0; y < im.height; y++) {
      const src = im.data.subarray(y * rowLen, (y + 1) * rowLen);
      data.set(src, ((n * H + y) * W) * c);
    }
  });
  const batch: Batch = { imgs: tf.tensor4d(data, [samples.length, H, W, c], 'float32'), metas: samples.map((s) => s.meta), samples };
  if (samples.some((s) => s.gt_semantic_seg)) {
    const seg = new Int32Array(samples.length * H * W).fill(255);
    samples.forEach((s, n) => {
      const m = s.gt_semantic_seg;
      if (!m) throw new Error(`collate: sample ${n} (${s.info.filename}) has no gt_semantic_seg while others do`);
      for (let y = 0; y < m.height; y++) {
        const off = (n * H + y) * W;
        for (let x = 0; x < m.width; x++) seg[off + x] = m.data[y * m.width + x];
      }
    });
    batch.gt_semantic_seg = tf.tensor3d(seg, [samples.length, H, W], 'int32');
  }
  return batch;
}

/** Disposes every tensor a batch holds at its top level (what the Runner calls after each step). */
export function disposeBatch(batch: object): void {
  for (const v of Object.values(batch)) {
    if (v instanceof tf.Tensor) v.dispose();
    else if (Array.isArray(v)) for (const t of v) if (t instanceof tf.Tensor) t.dispose();
  }
}
