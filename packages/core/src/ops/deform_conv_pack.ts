import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/layers';
import { kaimingUniformDefault, setParam } from '../nn/init';
import { deformConv2d, convOutSize } from './deform_conv';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

export interface DeformConv2dPackOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  deformableGroups?: number;
  bias?: boolean;
}

/**
 * DCNv1 layer that predicts its own offsets (mmcv's `DeformConv2dPack`): `conv_offset` is a regular conv with
 * the same geometry producing 2·G·kh·kw channels, zero-initialised so an untrained layer is a plain conv.
 * Names: `weight` [O, C/groups, kh, kw], `bias`, `conv_offset.weight`, `conv_offset.bias`. NHWC in and out.
 */
export class DeformConv2dPack extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly conv_offset: Conv2d;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly deformableGroups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: DeformConv2dPackOptions = {}) {
    super();
    this.kernel = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    this.deformableGroups = opts.deformableGroups ?? 1;
    const [kh, kw] = this.kernel;
    const fanIn = (inChannels / this.groups) * kh * kw;
    // kaiming-uniform(a=√5) weight and uniform(±1/√fan_in) bias, PyTorch's conv default.
    this.weight = this.addParameter('weight', kaimingUniformDefault([kh, kw, inChannels / this.groups, outChannels], fanIn), 'conv');
    if (opts.bias ?? true) this.bias = this.addParameter('bias', kaimingUniformDefault([outChannels], fanIn));
    this.conv_offset = this.addModule(
      'conv_offset',
      new Conv2d(inChannels, 2 * this.deformableGroups * kh * kw, this.kernel, { stride: this.stride, padding: this.padding, dilation: this.dilation }),
    );
    setParam(this.conv_offset.weight, tf.zerosLike(this.conv_offset.weight));
    setParam(this.conv_offset.bias!, tf.zerosLike(this.conv_offset.bias!));
  }

  outSize(h: number, w: number): [number, number] {
    return [
      convOutSize(h, this.kernel[0], this.stride[0], this.padding[0], this.dilation[0]),
      convOutSize(w, this.kernel[1], this.stride[1], this.padding[1], this.dilation[1]),
    ];
  }

  /** x [B, H, W, C] -> [B, Ho, Wo, O]; `tap` receives the predicted offsets (NHWC, torch channel order). */
  forward(x: tf.Tensor4D, tap?: (name: string, t: tf.Tensor) => void): tf.Tensor4D {
    return tf.tidy(() => {
      const offset = this.conv_offset.forward(x);
      tap?.('offset', offset);
      return deformConv2d(x, offset, this.weight as tf.Tensor4D, {
        stride: this.stride,
        padding: this.padding,
        dilation: this.dilation,
        groups: this.groups,
        deformableGroups: this.deformableGroups,
        bias: this.bias as tf.Tensor1D | undefined,
      });
    });
  }
}
