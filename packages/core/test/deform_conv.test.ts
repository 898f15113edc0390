import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { deformConv2d } from '../src/ops/deform_conv';
import { rand } from './helpers/lcg';

beforeAll(async () => {
  await initBackend({ quiet: true });
});


interface Geo { b: number; h: number; w: number; c: number; o: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; dg: number; groups: number }

/** Literal float64 DCNv1 (per-sample loops), NHWC input, torch-ordered offsets, HWIO weight. */
function reference(g: Geo, x: Float64Array, off: Float64Array, wt: Float64Array, bias: Float64Array): { out: Float64Array; ho: number; wo: number } {
  const ho = Math.floor((g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1;
  const wo = Math.floor((g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1;
  const K = g.kh * g.kw;
  const cg = g.c / g.dg;
  const cin = g.c / g.groups;
  const coutG = g.o / g.groups;
  const out = new Float64Array(g.b * ho * wo * g.o);
  const at = (bi: number, y: number, xx: number, ch: number) => (y < 0 || y >= g.h || xx < 0 || xx >= g.w ? 0 : x[((bi * g.h + y) * g.w + xx) * g.c + ch]);
  for (let bi = 0; bi < g.b; bi++)
    for (let a = 0; a < ho; a++)
      for (let bb = 0; bb < wo; bb++)
        for (let o = 0; o < g.o; o++) {
          let acc = bias[o];
          const grp = Math.floor(o / coutG);
          for (let i = 0; i < g.kh; i++)
            for (let j = 0; j < g.kw; j++)
              for (let ci = 0; ci < cin; ci++) {
                const ch = grp * cin + ci;
                const dgi = Math.floor(ch / cg);
                const kk = i * g.kw + j;
                const obase = ((bi * ho + a) * wo + bb) * 2 * g.dg * K + 2 * (dgi * K + kk);
                const py = a * g.sh - g.ph + i * g.dh + off[obase];
                const px = bb * g.sw - g.pw + j * g.dw + off[obase + 1];
                let v = 0;
                if (py > -1 && py < g.h && px > -1 && px < g.w) {
                  const y0 = Math.floor(py), x0 = Math.floor(px);
                  const ly = py - y0, lx = px - x0;
                  v = (1 - ly) * (1 - lx) * at(bi, y0, x0, ch) + (1 - ly) * lx * at(bi, y0, x0 + 1, ch) + ly * (1 - lx) * at(bi, y0 + 1, x0, ch) + ly * lx * at(bi, y0 + 1, x0 + 1, ch);
                }
                acc += v * wt[((i * g.kw + j) * cin + ci) * g.o + o];
              }
          out[((bi * ho + a) * wo + bb) * g.o + o] = acc;
        }
  return { out, ho, wo };
}

function run(g: Geo, seed: number, offScale: number, integerOffsets = false) {
  const ho = Math.floor((g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1;
  const wo = Math.floor((g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1;
  const x = rand(g.b * g.h * g.w * g.c, seed);
  const off = rand(g.b * ho * wo * 2 * g.dg * g.kh * g.kw, seed + 1, offScale).map((v) => (integerOffsets ? Math.round(v) : v));
  const wt = rand(g.kh * g.kw * (g.c / g.groups) * g.o, seed + 2);
  const bias = rand(g.o, seed + 3);
  const ref = reference(g, x, off, wt, bias);
  const y = deformConv2d(
    tf.tensor4d(Float32Array.from(x), [g.b, g.h, g.w, g.c]),
    tf.tensor4d(Float32Array.from(off), [g.b, ho, wo, 2 * g.dg * g.kh * g.kw]),
    tf.tensor4d(Float32Array.from(wt), [g.kh, g.kw, g.c / g.groups, g.o]),
    { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], deformableGroups: g.dg, groups: g.groups, bias: tf.tensor1d(Float32Array.from(bias)) },
  );
  expect(y.shape).toEqual([g.b, ref.ho, ref.wo, g.o]);
  const got = y.dataSync();
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - ref.out[i]));
  return m;
}

const base: Geo = { b: 2, h: 7, w: 9, c: 4, o: 6, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1, dg: 1, groups: 1 };

test('DTM geometry (2x2 stride 2, odd sizes) matches a float64 DCNv1 reference with large offsets', () => {
  expect(run(base, 1, 2.5)).toBeLessThan(1e-5);
});

test('3x3, padding 1, dilation 2, stride 1, 2 deformable groups, 2 conv groups', () => {
  expect(run({ ...base, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 2, dh: 2, dw: 1, dg: 2, groups: 2 }, 7, 1.5)).toBeLessThan(1e-5);
});

test('integer offsets exactly on borders and zero offsets equal a plain convolution', () => {
  const g = { ...base, h: 6, w: 6 };
  const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([2, 2, 4, 6], 0, 1, 'float32', 4) as tf.Tensor4D;
  const zero = tf.zeros([2, 3, 3, 8]) as tf.Tensor4D;
  const a = deformConv2d(x, zero, w, { stride: 2 });
  const b = tf.conv2d(x, w, 2, 'valid');
  expect(tf.max(tf.abs(a.sub(b))).dataSync()[0]).toBeLessThan(1e-5);
  // Integer offsets in [-3, 3] put many samples exactly on -1 / H / W, where DCNv1 gives 0.
  expect(run(g, 11, 3, true)).toBeLessThan(1e-5);
});

test('tensor count stays flat', () => {
  const x = tf.randomNormal([1, 5, 5, 2]) as tf.Tensor4D;
  const off = tf.randomNormal([1, 2, 2, 8]) as tf.Tensor4D;
  const w = tf.randomNormal([2, 2, 2, 3]) as tf.Tensor4D;
  deformConv2d(x, off, w, { stride: 2 }).dispose();
  const before = tf.memory().numTensors;
  deformConv2d(x, off, w, { stride: 2 }).dispose();
  expect(tf.memory().numTensors).toBe(before);
});

test('bad offset shape names the expected shape', () => {
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  const w = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
  expect(() => deformConv2d(x, tf.zeros([1, 2, 2, 4]) as tf.Tensor4D, w, { stride: 2 })).toThrow(/expected \[1, 2, 2, 8\]/);
});
