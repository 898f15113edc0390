import * as tf from '@tensorflow/tfjs';

const f32 = Math.fround;

export interface RoiAlignOptions {
  /** Output bins per side: n for n×n, or [outH, outW]. */
  outputSize: number | readonly [number, number];
  /** Multiplies the roi coordinates (in float32), e.g. 1/stride of the feature map. */
  spatialScale: number;
  /** Samples per bin side; 0 picks ceil(roiSize / outSize) per roi (adaptive). */
  samplingRatio?: number;
  /** true (default): pixel centres at +0.5, no minimum roi size. false: legacy, rois at least 1×1. */
  aligned?: boolean;
}

/** Sparse bilinear tables: output row `seg[k]` receives `weight[k]` × feature row `index[k]`. */
interface SampleTable {
  index: Int32Array;
  seg: Int32Array;
  weight: Float32Array;
}

/**
 * RoIAlign with mmcv semantics (avg pooling). `features` is NHWC [B, H, W, C]; `rois` is [R, 5] rows of
 * (batch_idx, x1, y1, x2, y2) in image coordinates. Returns [R, outH, outW, C].
 *
 * The sample positions and bilinear weights depend only on the rois, so they are computed here on the CPU
 * (rois are few) into a sparse table; the features are then gathered and summed per bin with tfjs kernels.
 * Differentiable w.r.t. `features` (first order; no gradient flows to the rois, as in mmcv).
 */
export function roiAlign(features: tf.Tensor4D, rois: tf.Tensor2D | Float32Array, opts: RoiAlignOptions): tf.Tensor4D {
  if (features.rank !== 4) throw new Error(`roiAlign: features must be NHWC rank 4, got shape [${features.shape}]`);
  const [B, H, W, C] = features.shape;
  const [outH, outW] = typeof opts.outputSize === 'number' ? [opts.outputSize, opts.outputSize] : opts.outputSize;
  if (!(Number.isInteger(outH) && Number.isInteger(outW) && outH > 0 && outW > 0)) {
    throw new Error(`roiAlign: outputSize must be positive integers, got ${JSON.stringify(opts.outputSize)}`);
  }
  const samplingRatio = opts.samplingRatio ?? 0;
  if (!Number.isInteger(samplingRatio) || samplingRatio < 0) throw new Error(`roiAlign: samplingRatio must be a non-negative integer, got ${samplingRatio}`);
  let roiData: Float32Array;
  if (rois instanceof Float32Array) {
    roiData = rois;
  } else {
    if (rois.rank !== 2 || rois.shape[1] !== 5) throw new Error(`roiAlign: rois must be [R, 5], got shape [${rois.shape}]`);
    roiData = rois.dataSync() as Float32Array;
  }
  if (roiData.length % 5 !== 0) throw new Error(`roiAlign: rois has ${roiData.length} values, not a multiple of 5`);
  const R = roiData.length / 5;
  if (R === 0) return tf.zeros([0, outH, outW, C]);
  const table = buildSampleTable(roiData, B, H, W, outH, outW, f32(opts.spatialScale), samplingRatio, opts.aligned ?? true);
  return applySampleTable(features, table, R, outH, outW);
}

/**
 * RoIAlign of each roi on its own pyramid level (mmdet SingleRoIExtractor): `levels[r]` picks `features[l]`,
 * sampled at `spatialScales[l]`. All levels go through one gather and one scatter over the concatenated,
 * flattened feature maps, and rows come out in roi order, so no per-level gather/re-order (whose tfjs gradient
 * would loop per roi) is needed. Returns [R, outH, outW, C]; differentiable w.r.t. every level.
 */
export function multiLevelRoiAlign(
  features: readonly tf.Tensor4D[], rois: Float32Array, levels: Int32Array, spatialScales: readonly number[],
  opts: Omit<RoiAlignOptions, 'spatialScale'>,
): tf.Tensor4D {
  if (features.length === 0 || features.length !== spatialScales.length) throw new Error(`multiLevelRoiAlign: ${features.length} feature maps for ${spatialScales.length} scales`);
  const [outH, outW] = typeof opts.outputSize === 'number' ? [opts.outputSize, opts.outputSize] : opts.outputSize;
  const B = features[0].shape[0];
  const C = features[0].shape[3];
  for (const f of features) if (f.rank !== 4 || f.shape[0] !== B || f.shape[3] !== C) throw new Error(`multiLevelRoiAlign: every level must be [${B}, H, W, ${C}], got [${f.shape}]`);
  const R = rois.length / 5;
  if (levels.length !== R) throw new Error(`multiLevelRoiAlign: ${levels.length} levels for ${R} rois`);
  const bins = outH * outW;
  const parts: SampleTable[] = [];
  let pixOffset = 0;
  for (let l = 0; l < features.length; l++) {
    const [, H, W] = features[l].shape;
    const members: number[] = [];
    levels.forEach((v, r) => { if (v === l) members.push(r); });
    if (members.length > 0) {
      const sub = new Float32Array(members.length * 5);
      members.forEach((r, i) => sub.set(rois.subarray(r * 5, r * 5 + 5), i * 5));
      const t = buildSampleTable(sub, B, H, W, outH, outW, f32(spatialScales[l]), opts.samplingRatio ?? 0, opts.aligned ?? true);
      for (let k = 0; k < t.index.length; k++) {
        t.index[k] += pixOffset;
        const local = Math.floor(t.seg[k] / bins);
        t.seg[k] = members[local] * bins + (t.seg[k] - local * bins);
      }
      parts.push(t);
    }
    pixOffset += B * H * W;
  }
  for (const [i, v] of levels.entries()) if (!(v >= 0 && v < features.length)) throw new Error(`multiLevelRoiAlign: roi ${i} has level ${v}, not in [0, ${features.length})`);
  const total = parts.reduce((a, t) => a + t.index.length, 0);
  const table: SampleTable = { index: new Int32Array(Math.max(total, 1)), seg: new Int32Array(Math.max(total, 1)), weight: new Float32Array(Math.max(total, 1)) };
  let o = 0;
  for (const t of parts) {
    table.index.set(t.index, o);
    table.seg.set(t.seg, o);
    table.weight.set(t.weight, o);
    o += t.index.length;
  }
  if (R === 0) return tf.zeros([0, outH, outW, C]);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, features.length) as tf.Tensor4D[];
    const flat = tf.tidy(() => tf.concat(xs.map((x) => tf.reshape(x, [-1, C])), 0));
    const value = applyFlat(flat, table, R, outH, outW, C);
    flat.dispose();
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const g = scatterBack(dy, table, pixOffset, R * bins, C);
      return tf.tidy(() => {
        const sizes = xs.map((x) => x.shape[0] * x.shape[1] * x.shape[2]);
        return tf.split(g, sizes, 0).map((p, i) => tf.reshape(p, xs[i].shape));
      });
    };
    return { value, gradFunc };
  });
  return op(...features) as tf.Tensor4D;
}

function applyFlat(flat: tf.Tensor, table: SampleTable, R: number, outH: number, outW: number, C: number): tf.Tensor4D {
  const N = table.weight.length;
  const S = R * outH * outW;
  return tf.tidy(() => {
    const picked = tf.gather(flat, tf.tensor1d(table.index, 'int32'));
    const weighted = tf.mul(picked, tf.tensor2d(table.weight, [N, 1]));
    return tf.reshape(tf.scatterND(tf.tensor2d(table.seg, [N, 1], 'int32'), weighted, [S, C]), [R, outH, outW, C]);
  });
}

function scatterBack(dy: tf.Tensor, table: SampleTable, numPix: number, S: number, C: number): tf.Tensor2D {
  const N = table.weight.length;
  return tf.tidy(() => {
    const rows = tf.gather(tf.reshape(dy, [S, C]), tf.tensor1d(table.seg, 'int32'));
    const weighted = tf.mul(rows, tf.tensor2d(table.weight, [N, 1]));
    return tf.scatterND(tf.tensor2d(table.index, [N, 1], 'int32'), weighted, [numPix, C]) as tf.Tensor2D;
  });
}

function applySampleTable(features: tf.Tensor4D, table: SampleTable, R: number, outH: number, outW: number): tf.Tensor4D {
  const [B, H, W, C] = features.shape;
  // tfjs's UnsortedSegmentSum (and so the stock gradient of gather) loops once per segment on the CPU backend,
  // which is far too slow for B·H·W segments; ScatterNd sums duplicate indices in one pass. It has no registered
  // gradient, so the backward pass (the transpose of the same sparse map) is given here.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const flat = tf.reshape(x, [B * H * W, C]);
    const value = applyFlat(flat, table, R, outH, outW, C);
    flat.dispose();
    const gradFunc = (dy: tf.Tensor): tf.Tensor => tf.tidy(() => tf.reshape(scatterBack(dy, table, B * H * W, R * outH * outW, C), [B, H, W, C]));
    return { value, gradFunc };
  });
  return op(features) as tf.Tensor4D;
}

/**
 * Follows mmcv's roi_align (aligned, avg) in float32: bin = size/out, samples at start + (i + .5)·bin/grid,
 * bilinear neighbours clamped at the border, samples beyond [-1, H]×[-1, W] give 0 but still count in the
 * average. The sample grid of a bin is a product of its y and x positions, and both the bilinear weight and the
 * out-of-map test factor per axis, so each bin's merged weight over pixel (py, px) is wy[py]·wx[px]/count:
 * per-axis weights are accumulated once per bin row/column (O(outH·gridH + outW·gridW) per roi) and the table
 * is their outer product, which keeps the gather as small as merging per pixel and avoids per-sample maps.
 */
function buildSampleTable(
  rois: Float32Array, B: number, H: number, W: number, outH: number, outW: number,
  scale: number, samplingRatio: number, aligned: boolean,
): SampleTable {
  const R = rois.length / 5;
  let cap = 1 << 12;
  let index = new Int32Array(cap);
  let seg = new Int32Array(cap);
  let weight = new Float32Array(cap);
  let n = 0;
  const grow = (need: number) => {
    if (n + need <= cap) return;
    while (n + need > cap) cap *= 2;
    const i2 = new Int32Array(cap); i2.set(index.subarray(0, n)); index = i2;
    const s2 = new Int32Array(cap); s2.set(seg.subarray(0, n)); seg = s2;
    const w2 = new Float32Array(cap); w2.set(weight.subarray(0, n)); weight = w2;
  };
  const offset = aligned ? 0.5 : 0;
  // Per-axis weights of every bin: axisW[bin * size + pixel], with the touched pixel range per bin.
  const wyAll = new Float64Array(outH * H);
  const wxAll = new Float64Array(outW * W);
  const yRange = new Int32Array(outH * 2);
  const xRange = new Int32Array(outW * 2);
  const axis = (start: number, bin: number, grid: number, out: number, size: number, acc: Float64Array, range: Int32Array) => {
    acc.fill(0);
    for (let p = 0; p < out; p++) {
      let lo = size;
      let hi = -1;
      for (let i = 0; i < grid; i++) {
        const v = f32(f32(start + f32(p * bin)) + f32(f32((i + 0.5) * bin) / grid));
        if (v < -1 || v > size) continue;
        const [a, b, l] = neighbours(v, size);
        acc[p * size + a] += 1 - l;
        acc[p * size + b] += l;
        if (a < lo) lo = a;
        if (b > hi) hi = b;
      }
      range[2 * p] = lo;
      range[2 * p + 1] = hi;
    }
  };
  for (let r = 0; r < R; r++) {
    const b = rois[r * 5];
    if (!Number.isInteger(b) || b < 0 || b >= B) throw new Error(`roiAlign: rois[${r}] batch index ${b} is not an integer in [0, ${B})`);
    const x1 = f32(f32(rois[r * 5 + 1] * scale) - offset);
    const y1 = f32(f32(rois[r * 5 + 2] * scale) - offset);
    const x2 = f32(f32(rois[r * 5 + 3] * scale) - offset);
    const y2 = f32(f32(rois[r * 5 + 4] * scale) - offset);
    let roiW = f32(x2 - x1);
    let roiH = f32(y2 - y1);
    if (aligned) {
      // mmcv asserts this; torchvision silently returns zeros.
      if (roiW < 0 || roiH < 0) throw new Error(`roiAlign: rois[${r}] has negative width/height (${rois.subarray(r * 5 + 1, r * 5 + 5).join(', ')})`);
    } else {
      roiW = Math.max(roiW, 1);
      roiH = Math.max(roiH, 1);
    }
    const binH = f32(roiH / outH);
    const binW = f32(roiW / outW);
    const gridH = samplingRatio > 0 ? samplingRatio : Math.ceil(roiH / outH);
    const gridW = samplingRatio > 0 ? samplingRatio : Math.ceil(roiW / outW);
    if (gridH === 0 || gridW === 0) continue; // zero-size roi: no samples, output 0
    const inv = 1 / (gridH * gridW);
    axis(y1, binH, gridH, outH, H, wyAll, yRange);
    axis(x1, binW, gridW, outW, W, wxAll, xRange);
    const base = b * H * W;
    for (let ph = 0; ph < outH; ph++) {
      const y0 = yRange[2 * ph];
      const yEnd = yRange[2 * ph + 1];
      if (yEnd < y0) continue;
      for (let pw = 0; pw < outW; pw++) {
        const x0 = xRange[2 * pw];
        const xEnd = xRange[2 * pw + 1];
        if (xEnd < x0) continue;
        grow((yEnd - y0 + 1) * (xEnd - x0 + 1));
        const s = (r * outH + ph) * outW + pw;
        for (let py = y0; py <= yEnd; py++) {
          const wy = wyAll[ph * H + py];
          if (wy === 0) continue;
          for (let px = x0; px <= xEnd; px++) {
            const wx = wxAll[pw * W + px];
            if (wx === 0) continue;
            index[n] = base + py * W + px;
            seg[n] = s;
            weight[n] = wy * wx * inv;
            n++;
          }
        }
      }
    }
  }
  // Keep the output connected to the features even when every roi is empty, so gradients are zeros, not an error.
  if (n === 0) return { index: new Int32Array(1), seg: new Int32Array(1), weight: new Float32Array(1) };
  return { index: index.slice(0, n), seg: seg.slice(0, n), weight: weight.slice(0, n) };
}

/** Lower/upper neighbour and the fractional part along one axis, clamped as mmcv's bilinear_interpolate does. */
function neighbours(v: number, size: number): [number, number, number] {
  const c = v <= 0 ? 0 : v;
  const lo = Math.floor(c);
  if (lo >= size - 1) return [size - 1, size - 1, 0];
  return [lo, lo + 1, f32(c - lo)];
}
