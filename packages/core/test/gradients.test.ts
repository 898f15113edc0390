/**
 * Numerical gradient checks. The analytic gradients come from tfjs autodiff (float32); the finite
 * differences are taken on independent float64 JS implementations of the same maths (central differences,
 * h = 1e-6, so truncation and rounding errors are ~1e-9 and the comparison is limited only by float32).
 */
import * as tf from '@tensorflow/tfjs';
import { HiLo, deformConv2d } from '@litv2/core';
import { initBackend } from '@litv2/core/node';
import { rand } from './helpers/lcg';

beforeAll(async () => {
  await initBackend({ quiet: true });
});


/** Central finite differences of f at every coordinate of p (float64). */
function numericGrad(f: () => number, p: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + h;
    const a = f();
    p[i] = v - h;
    const b = f();
    p[i] = v;
    g[i] = (a - b) / (2 * h);
  }
  return g;
}

function expectClose(analytic: ArrayLike<number>, numeric: Float64Array, what: string) {
  let scale = 0;
  for (const v of numeric) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]));
  // float32 forward/backward: errors of a few 1e-6 relative to the gradient scale are expected.
  const rel = worst / Math.max(scale, 1e-3);
  if (!(rel < 2e-4)) throw new Error(`${what}: max |analytic - numeric| = ${worst} (${rel} of the gradient scale ${scale})`);
  expect(scale).toBeGreaterThan(1e-3); // the check is not vacuous
}

// ---------------------------------------------------------------- HiLo, float64 reference
interface P { [k: string]: Float64Array }
function linear(x: Float64Array, xo: number, inF: number, w: Float64Array, b: Float64Array | undefined, outF: number, out: Float64Array, oo: number) {
  for (let o = 0; o < outF; o++) {
    let acc = b ? b[o] : 0;
    for (let i = 0; i < inF; i++) acc += w[o * inF + i] * x[xo + i];
    out[oo + o] = acc;
  }
}
function attend(q: Float64Array[], k: Float64Array[], v: Float64Array[], scale: number): Float64Array[] {
  return q.map((qi) => {
    const logits = k.map((kj) => qi.reduce((a, x, t) => a + x * kj[t], 0) * scale);
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const z = e.reduce((a, x) => a + x, 0);
    const o = new Float64Array(qi.length);
    e.forEach((ej, j) => v[j].forEach((vv, t) => (o[t] += (ej / z) * vv)));
    return o;
  });
}
function hiloRef(x: Float64Array, B: number, H: number, W: number, C: number, heads: number, s: number, lHeads: number, p: P): Float64Array {
  const d = C / heads;
  const hHeads = heads - lHeads;
  const hDim = hHeads * d;
  const lDim = lHeads * d;
  const scale = d ** -0.5;
  const Hp = Math.ceil(H / s) * s;
  const Wp = Math.ceil(W / s) * s;
  const xp = new Float64Array(B * Hp * Wp * C);
  for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let c = 0; c < C; c++) xp[((b * Hp + i) * Wp + j) * C + c] = x[((b * H + i) * W + j) * C + c];
  const out = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++) {
    if (hHeads > 0) {
      const qkv = new Float64Array(Hp * Wp * 3 * hDim);
      for (let t = 0; t < Hp * Wp; t++) linear(xp, (b * Hp * Wp + t) * C, C, p['h_qkv.weight'], p['h_qkv.bias'], 3 * hDim, qkv, t * 3 * hDim);
      const att = new Float64Array(Hp * Wp * hDim);
      for (let gy = 0; gy < Hp / s; gy++)
        for (let gx = 0; gx < Wp / s; gx++) {
          const pos: number[] = [];
          for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) pos.push((gy * s + r) * Wp + gx * s + c);
          for (let h = 0; h < hHeads; h++) {
            const part = (t: number, which: number) => qkv.slice(t * 3 * hDim + which * hDim + h * d, t * 3 * hDim + which * hDim + (h + 1) * d);
            const o = attend(pos.map((t) => part(t, 0)), pos.map((t) => part(t, 1)), pos.map((t) => part(t, 2)), scale);
            pos.forEach((t, n) => att.set(o[n], t * hDim + h * d));
          }
        }
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) linear(att, (i * Wp + j) * hDim, hDim, p['h_proj.weight'], p['h_proj.bias'], hDim, out, ((b * H + i) * W + j) * C);
    }
    if (lHeads > 0) {
      const Hs = Hp / s;
      const Ws = Wp / s;
      const pooled = new Float64Array(Hs * Ws * C);
      for (let i = 0; i < Hs; i++)
        for (let j = 0; j < Ws; j++)
          for (let c = 0; c < C; c++) {
            let acc = 0;
            for (let r = 0; r < s; r++) for (let q = 0; q < s; q++) acc += xp[((b * Hp + i * s + r) * Wp + j * s + q) * C + c];
            pooled[(i * Ws + j) * C + c] = acc / (s * s);
          }
      const M = Hs * Ws;
      const kv = new Float64Array(M * 2 * lDim);
      for (let t = 0; t < M; t++) linear(pooled, t * C, C, p['l_kv.weight'], p['l_kv.bias'], 2 * lDim, kv, t * 2 * lDim);
      const q = new Float64Array(H * W * lDim);
      for (let t = 0; t < H * W; t++) linear(x, (b * H * W + t) * C, C, p['l_q.weight'], p['l_q.bias'], lDim, q, t * lDim);
      const att = new Float64Array(H * W * lDim);
      for (let h = 0; h < lHeads; h++) {
        const qs = Array.from({ length: H * W }, (_, t) => q.slice(t * lDim + h * d, t * lDim + (h + 1) * d));
        const ks = Array.from({ length: M }, (_, t) => kv.slice(t * 2 * lDim + h * d, t * 2 * lDim + (h + 1) * d));
        const vs = Array.from({ length: M }, (_, t) => kv.slice(t * 2 * lDim + lDim + h * d, t * 2 * lDim + lDim + (h + 1) * d));
        attend(qs, ks, vs, scale).forEach((o, t) => att.set(o, t * lDim + h * d));
      }
      for (let t = 0; t < H * W; t++) linear(att, t * lDim, lDim, p['l_proj.weight'], p['l_proj.bias'], lDim, out, (b * H * W + t) * C + hDim);
    }
  }
  return out;
}

describe('HiLo gradients match float64 finite differences', () => {
  // 7x5 with s = 2 exercises the zero padding of both branches.
  for (const [alpha, s] of [[0.5, 2], [0, 2], [1, 2], [0.5, 1]] as const) {
    test(`alpha ${alpha}, window ${s}, 3x5 map (padded)`, () => {
      const B = 1, H = 3, W = 5, C = 8, heads = 4;
      const hilo = new HiLo(C, { numHeads: heads, qkvBias: true, windowSize: s, alpha });
      const lHeads = hilo.split.lHeads;
      // Larger-than-init weights so the attention is far from uniform.
      const p: P = {};
      const sd = hilo.stateDict();
      Object.entries(sd).forEach(([k, t], i) => (p[k] = rand(t.size, 100 + i, 0.8)));
      tf.dispose(Object.values(sd));
      const dict: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(p)) dict[k] = tf.tensor(Float32Array.from(v), hilo.stateDictSpec()[k].shape);
      hilo.loadStateDict(dict);
      tf.dispose(Object.values(dict));
      const x = rand(B * H * W * C, 7, 1.5);
      const R = rand(B * H * W * C, 9);
      const lossRef = () => hiloRef(x, B, H, W, C, heads, s, lHeads, p).reduce((a, v, i) => a + v * R[i], 0);

      const xt = tf.tensor4d(Float32Array.from(x), [B, H, W, C]);
      const Rt = tf.tensor4d(Float32Array.from(R), [B, H, W, C]);
      const loss = (xx: tf.Tensor4D) => tf.sum(hilo.forward(xx).mul(Rt)) as tf.Scalar;
      expect(loss(xt).dataSync()[0]).toBeCloseTo(lossRef(), 3);
      expectClose(tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D))(xt).dataSync(), numericGrad(lossRef, x), 'dL/dx');
      const { grads } = tf.variableGrads(() => loss(xt));
      const names = hilo.namedParameters();
      for (const [name, v] of names) {
        // Our Linear weights are stored [in, out]; the reference uses PyTorch's [out, in].
        const g = v.rank === 2 ? grads[v.name].transpose().dataSync() : grads[v.name].dataSync();
        expectClose(g, numericGrad(lossRef, p[name]), `dL/d${name}`);
      }
      tf.dispose([xt, Rt, ...Object.values(grads)]);
      hilo.dispose();
    });
  }
});

// ---------------------------------------------------------------- deformConv2d, float64 reference
function dcnRef(x: Float64Array, off: Float64Array, w: Float64Array, B: number, H: number, W: number, C: number, O: number, Ho: number, Wo: number): Float64Array {
  const out = new Float64Array(B * Ho * Wo * O);
  const at = (b: number, y: number, xx: number, c: number) => (y < 0 || y >= H || xx < 0 || xx >= W ? 0 : x[((b * H + y) * W + xx) * C + c]);
  for (let b = 0; b < B; b++)
    for (let a = 0; a < Ho; a++)
      for (let bb = 0; bb < Wo; bb++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 2; j++) {
            const k = i * 2 + j;
            const ob = ((b * Ho + a) * Wo + bb) * 8 + 2 * k;
            const py = a * 2 + i + off[ob];
            const px = bb * 2 + j + off[ob + 1];
            if (!(py > -1 && py < H && px > -1 && px < W)) continue;
            const y0 = Math.floor(py), x0 = Math.floor(px);
            const ly = py - y0, lx = px - x0;
            for (let c = 0; c < C; c++) {
              const v = (1 - ly) * (1 - lx) * at(b, y0, x0, c) + (1 - ly) * lx * at(b, y0, x0 + 1, c) + ly * (1 - lx) * at(b, y0 + 1, x0, c) + ly * lx * at(b, y0 + 1, x0 + 1, c);
              for (let o = 0; o < O; o++) out[((b * Ho + a) * Wo + bb) * O + o] += v * w[((i * 2 + j) * C + c) * O + o];
            }
          }
  return out;
}

test('deformConv2d gradients (input, offsets, weight) match float64 finite differences', () => {
  const B = 2, H = 5, W = 7, C = 3, O = 4, Ho = 2, Wo = 3;
  const x = rand(B * H * W * C, 21);
  // Offsets up to ±2.4 px (many samples partly outside the map) with fractional parts kept away from the
  // floor() kinks so central differences are valid.
  const off = rand(B * Ho * Wo * 8, 22, 2.4).map((v) => {
    const f = v - Math.floor(v);
    return f < 0.05 ? v + 0.1 : f > 0.95 ? v - 0.1 : v;
  });
  const w = rand(2 * 2 * C * O, 23);
  const R = rand(B * Ho * Wo * O, 24);
  const lossRef = () => dcnRef(x, off, w, B, H, W, C, O, Ho, Wo).reduce((a, v, i) => a + v * R[i], 0);
  const xt = tf.tensor4d(Float32Array.from(x), [B, H, W, C]);
  const ot = tf.tensor4d(Float32Array.from(off), [B, Ho, Wo, 8]);
  const wt = tf.tensor4d(Float32Array.from(w), [2, 2, C, O]);
  const Rt = tf.tensor4d(Float32Array.from(R), [B, Ho, Wo, O]);
  const f = (a: tf.Tensor4D, b: tf.Tensor4D, c: tf.Tensor4D) => tf.sum(deformConv2d(a, b, c, { stride: 2 }).mul(Rt)) as tf.Scalar;
  expect(f(xt, ot, wt).dataSync()[0]).toBeCloseTo(lossRef(), 4);
  const [gx, go, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D))([xt, ot, wt]);
  expectClose(gx.dataSync(), numericGrad(lossRef, x), 'dL/dx');
  expectClose(go.dataSync(), numericGrad(lossRef, off), 'dL/doffset');
  expectClose(gw.dataSync(), numericGrad(lossRef, w), 'dL/dweight');
});
