import * as tf from '@tensorflow/tfjs';
import { Module, nextSeed } from '@litv2/core';

/** PyTorch `nn.Dropout2d` on NHWC maps: zeroes whole channels per sample, scales the rest by 1/(1−p). */
export class Dropout2d extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout2d: p must be in [0, 1), got ${p}`);
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training || this.p === 0) return x;
    return tf.tidy(() => {
      const keep = 1 - this.p;
      const mask = tf.randomUniform([x.shape[0], 1, 1, x.shape[3]], 0, 1, 'float32', nextSeed()).add(keep).floor();
      return x.mul(mask.div(keep)) as tf.Tensor4D;
    });
  }
}
