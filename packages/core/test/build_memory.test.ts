import * as tf from '@tensorflow/tfjs';
import { BACKBONES, NECKS, LITv2, type Module } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const tiny = { embed_dim: 16, depths: [1, 1, 2, 1], num_heads: [1, 2, 4, 8], alpha: 0.9 };

// Building a model must leave exactly one tensor per parameter or buffer: initialisers that assign a fresh
// tensor into a variable have to free the source.
test.each<[string, () => Module]>([
  ['LITv2 det backbone', () => BACKBONES.build({ type: 'LITv2', ...tiny, variant: 'det' }) as unknown as Module],
  ['LITv2 classifier', () => new LITv2(tiny)],
  ['FPN', () => NECKS.build({ type: 'FPN', in_channels: [16, 32, 64, 128], out_channels: 8, num_outs: 5, start_level: 1, add_extra_convs: 'on_input' }) as unknown as Module],
])('%s: building allocates one tensor per parameter and buffer', (_name, build) => {
  const before = tf.memory().numTensors;
  const m = build();
  expect(tf.memory().numTensors - before).toBe(m.namedEntries().length);
  m.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
