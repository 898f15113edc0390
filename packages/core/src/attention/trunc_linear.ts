import * as tf from '@tensorflow/tfjs';
import { Linear } from '../nn/layers';
import { setParam, truncNormal } from '../nn/init';

/**
 * Linear with the transformer init used by LITv2/timm: trunc_normal(std 0.02) weight, zero bias. With
 * `init = false` the PyTorch-default init is kept (cheaper; for modules that will load weights anyway).
 */
export function truncLinear(inF: number, outF: number, bias = true, init = true): Linear {
  const l = new Linear(inF, outF, { bias });
  if (init) {
    setParam(l.weight, truncNormal([inF, outF], 0.02));
    if (l.bias) setParam(l.bias, tf.zeros([outF]));
  }
  return l;
}
