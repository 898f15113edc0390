import * as tf from '@tensorflow/tfjs';
import { nextSeed } from './random';

/** PyTorch `trunc_normal_(std)` with bounds ±2 (absolute), as timm uses it. */
export function truncNormal(shape: number[], std = 0.02): tf.Tensor {
  // With std << 2 the absolute bounds never bind; resample the rare outliers by clipping.
  return tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', nextSeed()).clipByValue(-2, 2));
}

export function normal(shape: number[], std: number, mean = 0): tf.Tensor {
  return tf.randomNormal(shape, mean, std, 'float32', nextSeed());
}

export function uniform(shape: number[], bound: number): tf.Tensor {
  return tf.randomUniform(shape, -bound, bound, 'float32', nextSeed());
}

/** PyTorch's default Linear / Conv weight init, kaiming-uniform with a = sqrt(5): bound 1/sqrt(fan_in). */
export function kaimingUniformDefault(shape: number[], fanIn: number): tf.Tensor {
  return uniform(shape, 1 / Math.sqrt(fanIn));
}

/** Kaiming normal (fan_out, ReLU gain), as mmcv's `kaiming_init` / torchvision's conv init. */
export function kaimingNormalFanOut(shape: number[], fanOut: number): tf.Tensor {
  return normal(shape, Math.sqrt(2 / fanOut));
}

/** Xavier uniform (gain 1), mmcv's `xavier_init(distribution='uniform')`. */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number): tf.Tensor {
  return uniform(shape, Math.sqrt(6 / (fanIn + fanOut)));
}

/**
 * Overwrites a parameter with `value` and frees `value`. `Variable.assign` shares the source's data but
 * leaves the source tensor counted, so assigning without disposing leaks one tensor per parameter.
 */
export function setParam(v: tf.Variable, value: tf.Tensor): void {
  v.assign(value);
  value.dispose();
}
