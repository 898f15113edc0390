import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { bilinearTaps, lerpAxis, resizeBilinear } from '../src/ops/resize';
import { allClose } from './helpers/close';

/** Reference: separable gathers, differentiated by tfjs' own gather gradient. */
const reference = (x: tf.Tensor4D, size: [number, number], ac: boolean) => tf.tidy(() => lerpAxis(lerpAxis(x, 1, size[0], ac), 2, size[1], ac));

describe('resizeBilinear (PyTorch F.interpolate bilinear semantics)', () => {
  beforeAll(() => initBackend({ quiet: true }));

  test('taps follow the align_corners=False rule with the clamp at 0', () => {
    // 2 -> 4: src = (o + .5)/2 − .5 = −.25, .25, .75, 1.25 -> clamp, then lo/hi/frac
    const t = bilinearTaps(2, 4, false);
    expect(Array.from(t.lo)).toEqual([0, 0, 0, 1]);
    expect(Array.from(t.hi)).toEqual([1, 1, 1, 1]);
    expect(Array.from(t.frac)).toEqual([0, 0.25, 0.75, 0.25]); // hi is clamped, so the weight is moot
    const a = bilinearTaps(3, 5, true);
    expect(Array.from(a.frac)).toEqual([0, 0.5, 0, 0.5, 0]);
  });

  test('matches a PyTorch value worked by hand', () => {
    // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(3, 3), mode='bilinear', align_corners=False)
    // row/col sources: -1/6 -> 0, 1/2, 7/6 -> 1 (clamped hi)  => [[0, .5, 1], [1, 1.5, 2], [2, 2.5, 3]]
    const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    const y = resizeBilinear(x, [3, 3]);
    const want = [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3];
    expect(allClose(y.dataSync(), want, 1e-6, 0)).toBe(true);
    tf.dispose([x, y]);
  });

  test.each([
    [[5, 7], [10, 14], false],
    [[5, 7], [13, 9], false],
    [[12, 16], [5, 6], false],
    [[6, 8], [11, 3], true],
  ] as [[number, number], [number, number], boolean][])('%j -> %j (align_corners %s): value and gradient equal the gather reference', (inHW, outHW, ac) => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, inHW[0], inHW[1], 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal([2, outHW[0], outHW[1], 3], 0, 1, 'float32', 2);
    const ours = resizeBilinear(x, outHW, ac);
    const ref = reference(x, outHW, ac);
    expect(allClose(ours.dataSync(), ref.dataSync(), 1e-5, 1e-5)).toBe(true);
    const g = tf.grad((t: tf.Tensor) => resizeBilinear(t as tf.Tensor4D, outHW, ac).mul(dy).sum())(x);
    const gRef = tf.grad((t: tf.Tensor) => reference(t as tf.Tensor4D, outHW, ac).mul(dy).sum())(x);
    expect(g.shape).toEqual(x.shape);
    expect(allClose(g.dataSync(), gRef.dataSync(), 1e-5, 1e-5)).toBe(true);
    tf.dispose([x, dy, ours, ref, g, gRef]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
