/**
 * SyncBN (mmcv `norm_cfg.type: SyncBN`, torch.nn.SyncBatchNorm): in a data-parallel run the batch statistics are
 * those of the whole global batch. The forward all-reduces per-channel [sum, sum of squares, count]; the backward
 * all-reduces [sum dy, sum dy*xhat] and divides by the global count, as torch's SyncBatchNorm backward does.
 * The collective is injected (`setBatchNormSync`) so this file stays universal; without one it is plain BN.
 */
import * as tf from '@tensorflow/tfjs';

/** In-place sum over all ranks of a Float32Array (the same call order on every rank). */
export type SumAllReduce = (data: Float32Array) => void;

let syncReduce: SumAllReduce | undefined;

/** Installs (or with undefined removes) the all-reduce SyncBN layers use in training mode. */
export function setBatchNormSync(reduce: SumAllReduce | undefined): void {
  syncReduce = reduce;
}

export function batchNormSync(): SumAllReduce | undefined {
  return syncReduce;
}

/**
 * Training-mode batch norm over NHWC channels with statistics of the global batch. Returns the output and the
 * global mean and unbiased variance (for the running stats).
 */
export function syncBatchNormTrain(x: tf.Tensor4D, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number, reduce: SumAllReduce): { y: tf.Tensor4D; mean: tf.Tensor1D; unbiased: tf.Tensor1D } {
  const c = x.shape[3];
  const localN = x.size / c;
  // Forward statistics: read, summed over ranks, used as constants; the backward accounts for them.
  const stats = tf.tidy(() => tf.concat([x.sum([0, 1, 2]), x.square().sum([0, 1, 2])]));
  const buf = new Float32Array(2 * c + 1);
  buf.set(stats.dataSync() as Float32Array);
  stats.dispose();
  buf[2 * c] = localN;
  reduce(buf);
  const n = buf[2 * c];
  const meanArr = new Float32Array(c);
  const varArr = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    meanArr[k] = buf[k] / n;
    varArr[k] = Math.max(buf[c + k] / n - meanArr[k] * meanArr[k], 0);
  }
  const mean = tf.tensor1d(meanArr);
  const variance = tf.tensor1d(varArr);
  const fn = (xIn: tf.Tensor, wIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const invStd = tf.rsqrt(variance.add(eps));
    const xhat = xIn.sub(mean).mul(invStd);
    save([xhat, wIn, invStd]);
    return {
      value: xhat.mul(wIn).add(bIn),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        const [xh, w, inv] = saved;
        const sumDy = g.sum([0, 1, 2]);
        const sumDyXhat = g.mul(xh).sum([0, 1, 2]);
        const both = new Float32Array(2 * c);
        both.set(sumDy.dataSync() as Float32Array);
        both.set(sumDyXhat.dataSync() as Float32Array, c);
        reduce(both);
        const meanDy = tf.tensor1d(both.subarray(0, c).map((v) => v / n));
        const meanDyXhat = tf.tensor1d(both.subarray(c).map((v) => v / n));
        const dx = g.sub(meanDy).sub(xh.mul(meanDyXhat)).mul(w.mul(inv));
        // Parameter gradients stay local: data parallelism averages them with the others afterwards.
        return [dx, sumDyXhat, sumDy];
      },
    };
  };
  const f = tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = f(x, weight, bias) as tf.Tensor4D;
  const unbiased = variance.mul(n / Math.max(n - 1, 1)) as tf.Tensor1D;
  variance.dispose();
  return { y, mean, unbiased };
}
