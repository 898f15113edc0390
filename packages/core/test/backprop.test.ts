import * as tf from '@tensorflow/tfjs';
import { LITv2, seedEverything, variableGradsLean } from '../src';
import { initBackend } from '../src/node';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

/** Identity whose backward records tf.memory().numBytes when the backward pass reaches it. */
function probe(onBackward: (bytes: number) => void) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => {
      onBackward(tf.memory().numBytes);
      return dy.clone();
    },
  })) as (x: tf.Tensor) => tf.Tensor;
}

describe('variableGradsLean', () => {
  const model = new LITv2({ embed_dim: 8, depths: [1, 1, 2, 1], num_heads: [1, 2, 4, 8], img_size: 32, num_classes: 5, drop_path_rate: 0.2 }).train();
  const x = tf.variable(tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3)) as unknown as tf.Tensor4D;
  afterAll(() => {
    model.dispose();
    x.dispose();
  });

  const run = (grad: typeof tf.variableGrads) => {
    seedEverything(7);
    let bytesAtInput = 0;
    const p = probe((b) => (bytesAtInput = b));
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    const { value, grads } = grad(() => tf.mean(model.forward(p(x) as tf.Tensor4D).square()) as tf.Scalar);
    const out = { loss: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])) };
    tf.dispose([value, ...Object.values(grads)]);
    const gradBytes = Object.values(out.grads).reduce((n, g) => n + g.length * 4, 0);
    return { ...out, extraAtInput: bytesAtInput - bytesBefore - gradBytes, leaked: tf.memory().numTensors - before };
  };

  test('gives the same loss and bit-identical gradients as tf.variableGrads, leaking no tensors', () => {
    const ref = run(tf.variableGrads);
    const lean = run(variableGradsLean);
    expect(lean.loss).toBe(ref.loss);
    expect(Object.keys(lean.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    expect(Object.keys(lean.grads).length).toBe(model.parameters().filter((v) => v.trainable).length + 1);
    for (const [k, g] of Object.entries(ref.grads)) expect(lean.grads[k]).toEqual(g);
    expect(lean.leaked).toBe(0);
    expect(ref.leaked).toBe(0);
  });

  test('frees saved activations and spent gradients during the backward pass', () => {
    const ref = run(tf.variableGrads);
    const lean = run(variableGradsLean);
    // When the backward pass reaches the input, tfjs still holds every saved activation and every
    // intermediate gradient; the lean pass holds little more than the parameter gradients.
    // Beyond the model and the gradients it returns (the parameters' gradients are complete by then).
    expect(lean.extraAtInput).toBeLessThan(ref.extraAtInput / 10);
  });

  test('rejects a non-scalar loss and a loss not connected to the variables', () => {
    const v = tf.variable(tf.ones([3]));
    expect(() => variableGradsLean(() => v.mul(2) as unknown as tf.Scalar, [v])).toThrow(/scalar/);
    expect(() => variableGradsLean(() => tf.scalar(1), [v])).toThrow(/connection/);
    v.dispose();
  });
});
