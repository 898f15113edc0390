import * as tf from '@tensorflow/tfjs';
import { Module } from './module';
import { kaimingUniformDefault } from './init';
import { nextSeed } from './random';
import { layerNormValue } from '../backend/fused_ops';
import { conv2dBias, dropPathScale, geluValue, linear } from './lean_ops';
import { batchNormSync, syncBatchNormTrain } from './sync_batch_norm';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** y = x W + b over the last axis. Weight stored [in, out]; PyTorch name/layout `weight` [out, in]. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.addParameter('weight', kaimingUniformDefault([inFeatures, outFeatures], inFeatures), 'linear');
    if (opts.bias ?? true) this.bias = this.addParameter('bias', kaimingUniformDefault([outFeatures], inFeatures));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D convolution on NHWC tensors with PyTorch semantics (symmetric zero padding, groups, dilation).
 * Weight stored HWIO ([kh, kw, in/groups, out]); depth-wise convs ([kh, kw, C, mult]) use tfjs' depthwise
 * kernel. PyTorch name/layout `weight` [out, in/groups, kh, kw].
 */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly depthwise: boolean;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    this.kernel = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: in (${inChannels}) and out (${outChannels}) channels must be divisible by groups (${this.groups})`);
    }
    const [kh, kw] = this.kernel;
    const fanIn = (inChannels / this.groups) * kh * kw;
    this.depthwise = this.groups > 1 && this.groups === inChannels;
    const shape = this.depthwise ? [kh, kw, inChannels, outChannels / inChannels] : [kh, kw, inChannels / this.groups, outChannels];
    this.weight = this.addParameter('weight', kaimingUniformDefault(shape, fanIn), this.depthwise ? 'depthwise' : 'conv');
    if (opts.bias ?? true) this.bias = this.addParameter('bias', kaimingUniformDefault([outChannels], fanIn));
  }

  /** `relu` applies ReLU to the output (fused into one gradient node with the conv and bias). */
  forward(x: tf.Tensor4D, relu = false): tf.Tensor4D {
    return tf.tidy(() => {
      const [ph, pw] = this.padding;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      const padArg = ph === 0 && pw === 0 ? ('valid' as const) : pad;
      if (this.bias && (this.groups === 1 || this.depthwise)) {
        const o = { strides: this.stride, pad: padArg, dilations: this.dilation, depthwise: this.depthwise, relu };
        return conv2dBias(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D, o);
      }
      let y: tf.Tensor4D;
      if (this.groups === 1) {
        y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, padArg, 'NHWC', this.dilation) as tf.Tensor4D;
      } else if (this.depthwise) {
        y = tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.stride, padArg, 'NHWC', this.dilation);
      } else {
        const cin = this.inChannels / this.groups;
        const cout = this.outChannels / this.groups;
        const xs = tf.split(x, this.groups, 3);
        const ws = tf.split(this.weight as tf.Tensor4D, this.groups, 3);
        y = tf.concat(xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, ws[g].reshape([...this.kernel, cin, cout]) as tf.Tensor4D, this.stride, padArg, 'NHWC', this.dilation)), 3) as tf.Tensor4D;
      }
      if (this.bias) y = y.add(this.bias);
      return relu ? tf.relu(y) : y;
    });
  }
}

/** LayerNorm over the last axis (PyTorch eps default 1e-5; names `weight`, `bias`). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.addParameter('weight', tf.ones([dim]));
    this.bias = this.addParameter('bias', tf.zeros([dim]));
  }
  forward<T extends tf.Tensor>(x: T): T {
    // One kernel where the backend has the fused op; the tfjs composition elsewhere.
    return layerNormValue(x, this.weight, this.bias, this.eps);
  }
}

/**
 * BatchNorm over the channel (last) axis of NHWC maps. Training normalises with the biased batch variance
 * and updates running stats with the unbiased one (momentum 0.1), exactly as PyTorch.
 */
export class BatchNorm2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;
  /** SyncBN: in training, statistics of the global batch when a data-parallel all-reduce is installed (sync_batch_norm.ts). */
  sync = false;
  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.weight = this.addParameter('weight', tf.ones([numFeatures]));
    this.bias = this.addParameter('bias', tf.zeros([numFeatures]));
    this.runningMean = this.addBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.addBuffer('running_var', tf.ones([numFeatures]));
    this.numBatchesTracked = this.addBuffer('num_batches_tracked', tf.scalar(0), 'int64');
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training) {
      return tf.tidy(() => {
        const scale = this.weight.mul(tf.rsqrt(this.runningVar.add(this.eps)));
        return x.mul(scale).add(this.bias.sub(this.runningMean.mul(scale)));
      });
    }
    const reduce = this.sync ? batchNormSync() : undefined;
    const { y, mean, unbiased } = reduce ? syncBatchNormTrain(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps, reduce) : tf.tidy(() => {
      const axes = [0, 1, 2];
      const m = tf.moments(x, axes);
      const n = x.size / this.numFeatures;
      const out = x.sub(m.mean).mul(tf.rsqrt(m.variance.add(this.eps))).mul(this.weight).add(this.bias) as tf.Tensor4D;
      return { y: out, mean: m.mean, unbiased: m.variance.mul(n / Math.max(n - 1, 1)) };
    });
    tf.tidy(() => {
      this.runningMean.assign(this.runningMean.mul(1 - this.momentum).add(mean.mul(this.momentum)));
      this.runningVar.assign(this.runningVar.mul(1 - this.momentum).add(unbiased.mul(this.momentum)));
      this.numBatchesTracked.assign(this.numBatchesTracked.add(1));
    });
    mean.dispose();
    unbiased.dispose();
    return y;
  }
}

/** GroupNorm on NHWC maps (names `weight`, `bias`). */
export class GroupNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    if (numChannels % numGroups) throw new Error(`GroupNorm: ${numChannels} channels not divisible by ${numGroups} groups`);
    this.weight = this.addParameter('weight', tf.ones([numChannels]));
    this.bias = this.addParameter('bias', tf.zeros([numChannels]));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const g = x.reshape([b, h, w, this.numGroups, c / this.numGroups]);
      const { mean, variance } = tf.moments(g, [1, 2, 4], true);
      return g.sub(mean).mul(tf.rsqrt(variance.add(this.eps))).reshape([b, h, w, c]).mul(this.weight).add(this.bias) as tf.Tensor4D;
    });
  }
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)), PyTorch's `nn.GELU()` default. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return geluValue(x);
}

export class GELU extends Module {
  forward<T extends tf.Tensor>(x: T): T {
    return gelu(x);
  }
}

/** Stochastic depth: drops whole samples of a residual branch with probability `p` while training. */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
  }
  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return x;
    return tf.tidy(() => {
      const keep = 1 - this.p;
      const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
      const mask = tf.randomUniform(shape, 0, 1, 'float32', nextSeed()).add(keep).floor();
      return dropPathScale(keep)(x, mask) as T;
    });
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0) {
    super();
  }
  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return x;
    return tf.dropout(x, this.p, undefined, nextSeed()) as T;
  }
}

/** Average pooling on NHWC maps with PyTorch's `AvgPool2d(k, s)` semantics (no padding, floor). */
export function avgPool2d(x: tf.Tensor4D, kernel: Pair, stride?: Pair): tf.Tensor4D {
  return tf.avgPool(x, pair(kernel), pair(stride ?? kernel), 'valid');
}

/** Max pooling on NHWC maps (PyTorch `MaxPool2d(k, s, padding)`: padding acts as -inf). */
export function maxPool2d(x: tf.Tensor4D, kernel: Pair, stride?: Pair, padding: Pair = 0): tf.Tensor4D {
  const [ph, pw] = pair(padding);
  if (ph === 0 && pw === 0) return tf.maxPool(x, pair(kernel), pair(stride ?? kernel), 'valid');
  return tf.tidy(() => {
    const padded = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], -3.4e38) as tf.Tensor4D;
    return tf.maxPool(padded, pair(kernel), pair(stride ?? kernel), 'valid');
  });
}
