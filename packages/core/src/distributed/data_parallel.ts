/**
 * DDP-style pieces on a ProcessGroup: the model state broadcast from rank 0 (at start and after resume, so every
 * rank steps from identical weights), and gradients summed in a few large buckets (~25 MB, as torch DDP's
 * bucket_cap_mb) and divided by the world size, so every rank applies the same averaged step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module';
import type { ProcessGroup } from './gloo';

/** torch DDP's default bucket size. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** Rank 0's state dict (weights and buffers) replaces every other rank's. */
export function broadcastModuleState(group: ProcessGroup, model: Module): void {
  if (group.worldSize === 1) return;
  const sd = model.stateDict();
  try {
    const names = Object.keys(sd).sort();
    const sizes = names.map((n) => sd[n].size);
    const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    names.forEach((n, i) => {
      flat.set(sd[n].dataSync(), off);
      off += sizes[i];
    });
    group.broadcast(flat, 0);
    if (group.rank === 0) return;
    const next: Record<string, tf.Tensor> = {};
    off = 0;
    names.forEach((n, i) => {
      next[n] = tf.tensor(flat.subarray(off, off + sizes[i]), sd[n].shape, sd[n].dtype);
      off += sizes[i];
    });
    try {
      model.loadStateDict(next);
    } finally {
      for (const t of Object.values(next)) t.dispose();
    }
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

/**
 * Returns the Runner's `reduceGrads`: replaces each gradient by its mean over ranks. Parameters are taken in the
 * optimizer's order (identical on every rank); one a rank produced no gradient for contributes zeros, so the
 * buckets line up across ranks.
 */
export function makeGradientAverager(group: ProcessGroup, paramNames: readonly string[], shapes: ReadonlyMap<string, readonly number[]>, bucketBytes = DEFAULT_BUCKET_BYTES): (grads: Record<string, tf.Tensor>) => void {
  const capElems = Math.max(1, Math.floor(bucketBytes / 4));
  return (grads) => {
    if (group.worldSize === 1) return;
    let i = 0;
    while (i < paramNames.length) {
      // A bucket: consecutive parameters up to the cap (a single larger tensor forms its own bucket).
      const members: string[] = [];
      let elems = 0;
      while (i < paramNames.length) {
        const n = sizeOf(shapes.get(paramNames[i])!);
        if (members.length && elems + n > capElems) break;
        members.push(paramNames[i]);
        elems += n;
        i++;
      }
      const buf = new Float32Array(elems);
      let off = 0;
      for (const name of members) {
        const g = grads[name];
        if (g) buf.set(g.dataSync() as Float32Array, off);
        off += sizeOf(shapes.get(name)!);
      }
      group.allreduceSum(buf);
      const inv = 1 / group.worldSize;
      for (let k = 0; k < buf.length; k++) buf[k] *= inv;
      off = 0;
      for (const name of members) {
        const shape = shapes.get(name)!;
        const n = sizeOf(shape);
        grads[name]?.dispose();
        grads[name] = tf.tensor(buf.slice(off, off + n), shape as number[], 'float32');
        off += n;
      }
    }
  };
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
