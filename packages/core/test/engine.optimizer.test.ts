import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/node';
import { AdamW, SGD, buildOptimizer, resolveParamGroups } from '../src/engine/optimizer';
import { ToyModel } from './helpers/toy';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

/** torch.optim.AdamW (_single_tensor_adamw) on plain numbers, written from the PyTorch docs' algorithm. */
function torchAdamW(p: number[], grads: number[][], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  p = [...p];
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = m[i] + (g[i] - m[i]) * (1 - b1); // lerp
      v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
    }
  });
  return p;
}

function torchSGD(p: number[], grads: number[][], lr: number, momentum: number, wd: number): number[] {
  p = [...p];
  const buf: number[] = [];
  grads.forEach((g, s) => {
    for (let i = 0; i < p.length; i++) {
      const d = g[i] + wd * p[i];
      buf[i] = s === 0 ? d : buf[i] * momentum + d;
      p[i] -= lr * buf[i];
    }
  });
  return p;
}

const grads = [
  [0.5, -0.1, 2.0],
  [0.2, 0.3, -1.0],
  [-0.4, 0.05, 0.7],
];

describe('AdamW', () => {
  test('first step matches a hand-computed PyTorch AdamW value', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const opt = new AdamW([{ name: 'w', variable: w, lrMult: 1, decayMult: 1 }], { lr: 0.1, weight_decay: 0.01 });
    const g = tf.tensor1d([0.5]);
    opt.step({ w: g });
    // p = 1 * (1 - 0.1*0.01) - (0.1 / 0.1) * 0.05 / (sqrt(0.00025)/sqrt(0.001) + 1e-8) = 0.999 - 0.1
    expect(w.dataSync()[0]).toBeCloseTo(0.899, 6);
    g.dispose();
    opt.dispose();
    w.dispose();
  });

  test.each([
    ['with decay', 1, 1],
    ['decay_mult 0', 0, 1],
    ['lr_mult 3', 1, 3],
  ])('three steps equal torch.optim.AdamW (%s)', (_n, decayMult, lrMult) => {
    const p0 = [1, -2, 0.3];
    const w = tf.variable(tf.tensor1d(p0));
    const opt = new AdamW([{ name: 'w', variable: w, lrMult, decayMult }], { lr: 1e-2, weight_decay: 0.05, betas: [0.9, 0.99], eps: 1e-6 });
    for (const g of grads) {
      const t = tf.tensor1d(g);
      opt.step({ w: t });
      t.dispose();
    }
    const want = torchAdamW(p0, grads, 1e-2 * lrMult, 0.05 * decayMult, 0.9, 0.99, 1e-6);
    const got = Array.from(w.dataSync());
    got.forEach((x, i) => expect(x).toBeCloseTo(want[i], 6));
    // decay_mult 0 really removes the decay: the result differs from the decayed run
    if (decayMult === 0) expect(Math.abs(want[0] - torchAdamW(p0, grads, 1e-2, 0.05, 0.9, 0.99, 1e-6)[0])).toBeGreaterThan(1e-5);
    opt.dispose();
    w.dispose();
  });

  test('state round trip continues identically', () => {
    const mk = () => tf.variable(tf.tensor1d([1, -2, 0.3]));
    const a = mk();
    const b = mk();
    const oa = new AdamW([{ name: 'w', variable: a, lrMult: 1, decayMult: 1 }], { lr: 1e-2, weight_decay: 0.1 });
    const ob = new AdamW([{ name: 'w', variable: b, lrMult: 1, decayMult: 1 }], { lr: 1e-2, weight_decay: 0.1 });
    const t0 = tf.tensor1d(grads[0]);
    oa.step({ w: t0 });
    ob.step({ w: t0 });
    const st = oa.getState();
    expect(st.step).toBe(1);
    expect(Object.keys(st.slots).sort()).toEqual(['exp_avg', 'exp_avg_sq']);
    const fresh = tf.variable(b.clone());
    const oc = new AdamW([{ name: 'w', variable: fresh, lrMult: 1, decayMult: 1 }], { lr: 1e-2, weight_decay: 0.1 });
    oc.setState(st);
    const t1 = tf.tensor1d(grads[1]);
    oa.step({ w: t1 });
    oc.step({ w: t1 });
    expect(Array.from(fresh.dataSync())).toEqual(Array.from(a.dataSync()));
    for (const d of Object.values(st.slots)) for (const t of Object.values(d)) t.dispose();
    [t0, t1, a, b, fresh].forEach((t) => t.dispose());
    [oa, ob, oc].forEach((o) => o.dispose());
  });
});

test('SGD with momentum and weight decay equals torch.optim.SGD', () => {
  const p0 = [0.5, 1.5, -1];
  const w = tf.variable(tf.tensor1d(p0));
  const opt = new SGD([{ name: 'w', variable: w, lrMult: 1, decayMult: 1 }], { lr: 0.02, momentum: 0.9, weight_decay: 1e-4 });
  for (const g of grads) {
    const t = tf.tensor1d(g);
    opt.step({ w: t });
    t.dispose();
  }
  const want = torchSGD(p0, grads, 0.02, 0.9, 1e-4);
  Array.from(w.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i], 6));
  opt.dispose();
  w.dispose();
});

describe('paramwise_cfg', () => {
  test('custom_keys: longest matching key wins, others use defaults', () => {
    const v = tf.variable(tf.zeros([1]));
    const named: [string, tf.Variable][] = ['backbone.norm1.weight', 'backbone.layers.0.attn.qkv.weight', 'neck.lateral.norm.bias', 'head.bias'].map((n) => [n, v]);
    const groups = resolveParamGroups(named, { custom_keys: { norm: { decay_mult: 0 }, 'lateral.norm': { lr_mult: 2 }, backbone: { lr_mult: 0.1 } } });
    const byName = Object.fromEntries(groups.map((g) => [g.name, [g.lrMult, g.decayMult]]));
    expect(byName['backbone.norm1.weight']).toEqual([0.1, 1]); // 'backbone' (8 chars) is longer than 'norm'
    expect(byName['backbone.layers.0.attn.qkv.weight']).toEqual([0.1, 1]);
    expect(byName['neck.lateral.norm.bias']).toEqual([2, 1]);
    expect(byName['head.bias']).toEqual([1, 1]);
    v.dispose();
  });

  test('buildOptimizer applies norm decay_mult 0 to the toy model and rejects unknown keys', () => {
    const m = new ToyModel();
    const opt = buildOptimizer(m, { type: 'AdamW', lr: 1e-4, weight_decay: 1e-4, betas: [0.9, 0.999], paramwise_cfg: { custom_keys: { norm: { decay_mult: 0 } } } });
    const decay = Object.fromEntries(opt.params.map((p) => [p.name, p.decayMult]));
    expect(decay).toEqual({ 'conv.weight': 1, 'conv.bias': 1, 'norm.weight': 0, 'norm.bias': 0, 'head.weight': 1, 'head.bias': 1 });
    opt.dispose();
    expect(() => buildOptimizer(m, { type: 'AdamW', lr: 1e-4, momentun: 0.9 }, 'x.yaml')).toThrow(/x\.yaml: optimizer\.momentun: unknown key 'momentun'/);
    expect(() => buildOptimizer(m, { type: 'Adamw', lr: 1e-4 })).toThrow(/unknown optimizer type 'Adamw'/);
    m.dispose();
  });
});

test('constructing and disposing an optimizer leaves no tensor behind', () => {
  const m = new ToyModel();
  const n0 = tf.memory().numTensors;
  const opt = buildOptimizer(m, { type: 'AdamW', lr: 1e-3 });
  expect(tf.memory().numTensors).toBe(n0 + 2 * m.parameters().length);
  opt.dispose();
  const sgd = buildOptimizer(m, { type: 'SGD', lr: 1e-3, momentum: 0.9 });
  sgd.dispose();
  expect(tf.memory().numTensors).toBe(n0);
  m.dispose();
});
