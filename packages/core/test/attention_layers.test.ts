import * as tf from '@tensorflow/tfjs';
import { HiLo, GlobalMSA, WindowAttention, SRA } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);

test('GlobalMSA equals HiLo with window 1 when qkv = [l_q; l_kv]', () => {
  const hilo = new HiLo(24, { numHeads: 4, windowSize: 1, qkvBias: true });
  const msa = new GlobalMSA(24, { numHeads: 4, qkvBias: true });
  const h = hilo.stateDict();
  msa.loadStateDict({
    'qkv.weight': tf.concat([h['l_q.weight'], h['l_kv.weight']], 0),
    'qkv.bias': tf.concat([h['l_q.bias'], h['l_kv.bias']], 0),
    'proj.weight': h['l_proj.weight'],
    'proj.bias': h['l_proj.bias'],
  });
  const x = tf.randomNormal([2, 5, 6, 24], 0, 1, 'float32', 1) as tf.Tensor4D;
  expect(maxDiff(msa.forward(x), hilo.forward(x))).toBeLessThan(1e-5);
  expect(msa.flops(5, 6)).toBe(hilo.flops(5, 6));
});

test('WindowAttention equals the Hi-Fi-only HiLo (alpha 0), including padding', () => {
  const hilo = new HiLo(24, { numHeads: 4, windowSize: 3, alpha: 0, qkvBias: true });
  const wa = new WindowAttention(24, 3, { numHeads: 4, qkvBias: true });
  const h = hilo.stateDict();
  wa.loadStateDict({ 'qkv.weight': h['h_qkv.weight'], 'qkv.bias': h['h_qkv.bias'], 'proj.weight': h['h_proj.weight'], 'proj.bias': h['h_proj.bias'] });
  const x = tf.randomNormal([2, 7, 8, 24], 0, 1, 'float32', 2) as tf.Tensor4D;
  expect(maxDiff(wa.forward(x), hilo.forward(x))).toBeLessThan(1e-5);
  expect(wa.flops(7, 8)).toBe(hilo.flops(7, 8));
});

test('SRA with ratio 1 is global MSA; ratio 2 reduces keys with a strided conv + LayerNorm', () => {
  const sra = new SRA(16, 1, { numHeads: 2 });
  const msa = new GlobalMSA(16, { numHeads: 2 });
  const s = sra.stateDict();
  msa.loadStateDict({ 'qkv.weight': tf.concat([s['q.weight'], s['kv.weight']], 0), 'proj.weight': s['proj.weight'], 'proj.bias': s['proj.bias'] }, { strict: true });
  const x = tf.randomNormal([1, 4, 6, 16], 0, 1, 'float32', 3) as tf.Tensor4D;
  expect(maxDiff(sra.forward(x), msa.forward(x))).toBeLessThan(1e-5);
  const sra2 = new SRA(16, 2, { numHeads: 2 });
  expect(Object.keys(sra2.stateDictSpec())).toEqual(['q.weight', 'kv.weight', 'proj.weight', 'proj.bias', 'sr.weight', 'sr.bias', 'norm.weight', 'norm.bias']);
  // Keys/values from a constant map are constant, so every query returns the same vector.
  const y = sra2.forward(tf.ones([1, 4, 6, 16]) as tf.Tensor4D);
  expect(y.shape).toEqual([1, 4, 6, 16]);
  expect(maxDiff(y, y.slice([0, 0, 0, 0], [1, 1, 1, 16]))).toBeLessThan(1e-5);
});
