import * as tf from '@tensorflow/tfjs';
import { Linear } from '../nn/layers';
import { truncNormal } from '../nn/init';

/**
 * Linear with the transformer init used by LITv2/timm: trunc_normal(std 0.02) weight, zero bias. With
 * `init = false` the PyTorch-default init is kept (cheaper; for modules that will load weights anyway).
 */
export function truncLinear(inF: number, outF: number, bias = true, init = true): Linear {
  const l = new Linear(inF, outF, { bias });
  if (init) {
    l.weight.assign(tf.tidy(() => truncNormal([inF, outF], 0.02)));
    if (l.bias) l.bias.assign(tf.zeros([outF]));
  }
  return l;
}
