import type * as tf from '@tensorflow/tfjs';
import type { Module } from '@litv2/core';

/** Loss terms a decode head returns (mmseg names; the segmentor prefixes them with `decode.`). */
export interface SegLosses {
  loss_seg: tf.Scalar;
  acc_seg: tf.Scalar;
}

/**
 * mmseg BaseDecodeHead contract: multi-level NHWC features in, class logits out (NHWC, at the resolution
 * of its first selected input); `losses` resizes the logits to the label size first.
 */
export interface DecodeHead extends Module {
  readonly numClasses: number;
  readonly alignCorners: boolean;
  readonly ignoreIndex: number;
  forward(inputs: tf.Tensor4D[]): tf.Tensor4D;
  /** `segLogit` NHWC at any size, `labels` int [B, H, W] (255 = ignore). */
  losses(segLogit: tf.Tensor4D, labels: tf.Tensor3D): SegLosses;
}

/** Is a HEADS-built module a decode head (what EncoderDecoder can use as `decode_head`)? */
export function isDecodeHead(m: Module): m is DecodeHead {
  const h = m as unknown as Partial<DecodeHead>;
  return typeof h.losses === 'function' && typeof h.numClasses === 'number' && typeof h.ignoreIndex === 'number';
}
