import * as tf from '@tensorflow/tfjs';

/**
 * How a parameter is stored here versus in PyTorch. Models keep tfjs-friendly layouts (NHWC activations,
 * HWIO filters, [in, out] Linear weights); checkpoints always use PyTorch layouts so that official
 * weights load by name and our checkpoints convert back losslessly.
 */
export type TorchLayout =
  | 'same' // identical shape and order
  | 'linear' // torch [out, in]  <-> ours [in, out]
  | 'conv' // torch [O, I, kh, kw] <-> ours [kh, kw, I, O]
  | 'depthwise'; // torch [C*m, 1, kh, kw] <-> ours [kh, kw, C, m]

/** Shape in PyTorch layout of a tensor stored here with `shape`. */
export function torchShape(shape: number[], layout: TorchLayout): number[] {
  switch (layout) {
    case 'same':
      return shape.slice();
    case 'linear':
      return [shape[1], shape[0]];
    case 'conv':
      return [shape[3], shape[2], shape[0], shape[1]];
    case 'depthwise':
      return [shape[2] * shape[3], 1, shape[0], shape[1]];
  }
}

/** Converts a PyTorch-layout tensor to our layout (`ourShape` disambiguates the depthwise multiplier). */
export function fromTorch(t: tf.Tensor, layout: TorchLayout, ourShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    switch (layout) {
      case 'same':
        return t.reshape(ourShape);
      case 'linear':
        return t.transpose([1, 0]);
      case 'conv':
        return t.transpose([2, 3, 1, 0]);
      case 'depthwise': {
        // torch [C*m, 1, kh, kw] with output channel o = c*m + k  ->  [kh, kw, C, m]
        const [kh, kw, c, m] = ourShape;
        return t.reshape([c, m, kh, kw]).transpose([2, 3, 0, 1]);
      }
    }
  });
}

/** Converts one of our tensors to PyTorch layout. */
export function toTorch(t: tf.Tensor, layout: TorchLayout): tf.Tensor {
  return tf.tidy(() => {
    switch (layout) {
      case 'same':
        return t.clone();
      case 'linear':
        return t.transpose([1, 0]);
      case 'conv':
        return t.transpose([3, 2, 0, 1]);
      case 'depthwise': {
        const [kh, kw, c, m] = t.shape;
        return t.transpose([2, 3, 0, 1]).reshape([c * m, 1, kh, kw]);
      }
    }
  });
}
