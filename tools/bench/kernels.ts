import * as tf from '@tensorflow/tfjs';
import { nextSeed } from '@litv2/core';
import { registerNativeKernels, unregisterNativeKernels } from '@litv2/core/node';
import { timeIt } from './timing';

const sig = (v: number): number => Number(v.toPrecision(3));

/** One kernel micro-benchmark: `make(b)` builds inputs at batch scale b and returns the op to time. */
interface KernelCase {
  name: string;
  /** Work per run at batch scale b: FLOPs for compute kernels, elements for memory-bound ones. */
  work(b: number): number;
  unit: 'GFLOP/s' | 'Gelem/s';
  make(b: number): () => tf.Tensor | tf.Tensor[];
  /** Batch scale of the slow "before" (pure-JS) measurement; GFLOP/s normalises it. */
  beforeScale: number;
}

const r = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', nextSeed());
/** Calls one kernel directly (no autodiff around it). */
const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>): tf.Tensor =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** LITv2-S shaped kernels (batch 8 at 224 where it applies); `b` scales the batch. */
export const KERNEL_CASES: KernelCase[] = [
  { name: 'matMul 1024x1024x1024', unit: 'GFLOP/s', beforeScale: 1, work: () => 2 * 1024 ** 3,
    make: () => { const a = r([1024, 1024]), c = r([1024, 1024]); return () => tf.matMul(a, c); } },
  { name: 'dense [1568,384]x[384,1152] (stage-3 qkv)', unit: 'GFLOP/s', beforeScale: 1, work: (b) => (2 * 1568 * 384 * 1152 * b) / 8,
    make: (b) => { const a = r([(1568 * b) / 8, 384]), w = r([384, 1152]); return () => tf.matMul(a, w); } },
  { name: 'dense [25088,96]x[96,384] (stage-1 fc1)', unit: 'GFLOP/s', beforeScale: 1, work: (b) => (2 * 25088 * 96 * 384 * b) / 8,
    make: (b) => { const a = r([(25088 * b) / 8, 96]), w = r([96, 384]); return () => tf.matMul(a, w); } },
  { name: 'dense grad dW = x^T dy [1568,384]^T[1568,1536]', unit: 'GFLOP/s', beforeScale: 1, work: (b) => (2 * 1568 * 384 * 1536 * b) / 8,
    make: (b) => { const a = r([(1568 * b) / 8, 384]), d = r([(1568 * b) / 8, 1536]); return () => tf.matMul(a, d, true, false); } },
  { name: 'batchMatMul q.kT [b*10,196,32]x[b*10,49,32]^T (Lo-Fi)', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 10 * 196 * 49 * 32,
    make: (b) => { const q = r([b * 10, 196, 32]), k = r([b * 10, 49, 32]); return () => tf.matMul(q, k, false, true); } },
  { name: 'batchMatMul [96,196,32]x[96,32,196] (NOTES)', unit: 'GFLOP/s', beforeScale: 1, work: () => 2 * 96 * 196 * 196 * 32,
    make: () => { const q = r([96, 196, 32]), k = r([96, 32, 196]); return () => tf.matMul(q, k); } },
  { name: 'conv2d [b,56,56,64] 3x3x64x64 same', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 9 * 64 * 64,
    make: (b) => { const x = r([b, 56, 56, 64]) as tf.Tensor4D, w = r([3, 3, 64, 64]) as tf.Tensor4D; return () => tf.conv2d(x, w, 1, 'same'); } },
  { name: 'conv2DBackpropInput [b,56,56,64] 3x3x64x64', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 9 * 64 * 64,
    make: (b) => { const dy = r([b, 56, 56, 64]) as tf.Tensor4D, w = r([3, 3, 64, 64]) as tf.Tensor4D; return () => tf.conv2dTranspose(dy, w, [b, 56, 56, 64], 1, 'same'); } },
  { name: 'conv2DBackpropFilter [b,56,56,64] 3x3x64x64', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * Math.max(1, b) * (b < 8 ? 20 : 56) ** 2 * 9 * 64 * 64,
    make: (b) => {
      // The pure-JS kernel runs at ~0.01 GFLOP/s, so "before" uses a 20x20 map.
      const hw = b < 8 ? 20 : 56;
      const x = r([b, hw, hw, 64]), dy = r([b, hw, hw, 64]);
      return () => run('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 64, 64] });
    } },
  { name: 'patch embed conv [b,224,224,3] 4x4/4 -> 96', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 48 * 96,
    make: (b) => { const x = r([b, 224, 224, 3]) as tf.Tensor4D, w = r([4, 4, 3, 96]) as tf.Tensor4D; return () => tf.conv2d(x, w, 4, 'valid'); } },
  { name: 'depthwise [b,56,56,384] 3x3 (FFN)', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 384 * 9,
    make: (b) => { const x = r([b, 56, 56, 384]) as tf.Tensor4D, w = r([3, 3, 384, 1]) as tf.Tensor4D; return () => tf.depthwiseConv2d(x, w, 1, 'same'); } },
  { name: 'depthwise backprop input [b,56,56,384] 3x3', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 384 * 9,
    make: (b) => {
      const w = r([3, 3, 384, 1]), dy = r([b, 56, 56, 384]);
      return () => run('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { strides: 1, pad: 'same', dilations: 1, inputShape: [b, 56, 56, 384] });
    } },
  { name: 'depthwise backprop filter [b,56,56,384] 3x3', unit: 'GFLOP/s', beforeScale: 1, work: (b) => 2 * b * 56 * 56 * 384 * 9,
    make: (b) => {
      const x = r([b, 56, 56, 384]), dy = r([b, 56, 56, 384]);
      return () => run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 384, 1] });
    } },
  { name: 'add bias [b*3136,384]+[384]', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 3136 * 384,
    make: (b) => { const x = r([b * 3136, 384]), c = r([384]); return () => tf.add(x, c); } },
  { name: 'multiply [b*3136,384] x same', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 3136 * 384,
    make: (b) => { const x = r([b * 3136, 384]), c = r([b * 3136, 384]); return () => tf.mul(x, c); } },
  { name: 'erf [b*3136,384]', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 3136 * 384,
    make: (b) => { const x = r([b * 3136, 384]); return () => tf.erf(x); } },
  { name: 'softmax [b*10,196,49]', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 10 * 196 * 49,
    make: (b) => { const x = r([b * 10, 196, 49]); return () => tf.softmax(x); } },
  { name: 'transpose [b,196,12,32] -> [b,12,196,32]', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 196 * 12 * 32,
    make: (b) => { const x = r([b, 196, 12, 32]); return () => tf.transpose(x, [0, 2, 1, 3]); } },
  { name: 'sum axis 0 [b*3136,384] (bias grad)', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 3136 * 384,
    make: (b) => { const x = r([b * 3136, 384]); return () => tf.sum(x, 0); } },
  { name: 'mean last axis [b*3136,96] (LayerNorm)', unit: 'Gelem/s', beforeScale: 1, work: (b) => b * 3136 * 96,
    make: (b) => { const x = r([b * 3136, 96]); return () => tf.mean(x, -1, true); } },
  { name: 'avgPool 2x2/2 [b,14,14,384] + grad', unit: 'Gelem/s', beforeScale: 1, work: (b) => 2 * b * 14 * 14 * 384,
    make: (b) => { const x = r([b, 14, 14, 384]) as tf.Tensor4D; return () => tf.grad((a: tf.Tensor) => tf.sum(tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid')))(x); } },
  { name: 'gather rows + grad (deform-conv sampling) [b*784,96]', unit: 'Gelem/s', beforeScale: 1, work: (b) => 2 * 4 * b * 784 * 96,
    make: (b) => {
      const x = r([b * 3136, 96]);
      const idx = tf.tensor1d(Int32Array.from({ length: 4 * b * 784 }, (_, i) => (i * 7919) % (b * 3136)), 'int32');
      return () => tf.grad((a: tf.Tensor) => tf.sum(tf.gather(a, idx)))(x);
    } },
];

export interface KernelResult {
  name: string;
  unit: string;
  /** Rates from wall time. */
  before: number | null;
  after: number | null;
  speedup: number | null;
  /** Rates from process CPU time: with one thread these do not drop when other processes share the cores. */
  before_cpu: number | null;
  after_cpu: number | null;
}

async function rate(c: KernelCase, b: number, runs: number): Promise<{ wall: number; cpu: number }> {
  tf.engine().startScope(); // disposes the inputs too
  try {
    const fn = c.make(b);
    const t = await timeIt(() => {
      // The cpu backend computes synchronously; reading the output (dataSync) would also stop the native
      // buffer pool from recycling it, which model code never does with intermediates.
      tf.tidy(() => {
        fn();
      });
    }, runs, 1);
    return { wall: c.work(b) / t.median_s / 1e9, cpu: c.work(b) / t.cpu_s / 1e9 };
  } finally {
    tf.engine().endScope();
  }
}

/** GFLOP/s (or Gelem/s) with the original tfjs cpu kernels ("before") and with the native ones ("after"). */
export async function benchmarkKernels(opts: { before: boolean; log: (s: string) => void }): Promise<KernelResult[]> {
  const out: KernelResult[] = [];
  for (const c of KERNEL_CASES) {
    let before: { wall: number; cpu: number } | null = null;
    let after: { wall: number; cpu: number } | null = null;
    if (opts.before) {
      unregisterNativeKernels();
      before = await rate(c, c.beforeScale, 1);
    }
    if (registerNativeKernels().ok) after = await rate(c, 8, 5);
    const res: KernelResult = {
      name: c.name,
      unit: c.unit,
      before: before && sig(before.wall),
      after: after && sig(after.wall),
      speedup: before && after ? sig(after.wall / before.wall) : null,
      before_cpu: before && sig(before.cpu),
      after_cpu: after && sig(after.cpu),
    };
    const cpuNote = res.before_cpu !== null || res.after_cpu !== null ? `   [cpu-time: ${res.before_cpu ?? '-'} -> ${res.after_cpu ?? '-'}]` : '';
    opts.log(`  ${c.name.padEnd(56)} ${String(res.before ?? '-').padStart(8)} -> ${String(res.after ?? '-').padStart(8)} ${c.unit}${res.speedup ? `  (x${res.speedup})` : ''}${cpuNote}`);
    out.push(res);
  }
  return out;
}
