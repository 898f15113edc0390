import * as tf from '@tensorflow/tfjs';

// The pixel cross-entropy is core's (CrossEntropyLoss.forwardPixels); re-exported for callers of the function.
export { segCrossEntropy, type SegCrossEntropyOptions } from '@litv2/core';

/**
 * mmseg 0.13 `accuracy` (top-1): percentage of pixels whose argmax equals the label, divided by the total
 * pixel count including ignored pixels (which can never match, since 255 is not a class).
 */
export function segAccuracy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const pred = tf.argMax(logits, -1);
    return pred.equal(labels.toInt()).toFloat().sum().mul(100 / labels.size) as tf.Scalar;
  });
}
