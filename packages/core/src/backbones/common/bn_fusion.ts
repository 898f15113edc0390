/**
 * The conv/linear + BatchNorm pairs of the MSRA-style families (LeViT, EfficientViT) and their inference-time
 * folding (LeViT `utils.replace_batchnorm` / EfficientViT `build.replace_batchnorm` semantics):
 * - `X.c` (Conv2d or Linear, no bias) followed by `X.bn` becomes one layer `X` with
 *   W' = W·γ/√(σ²+ε) per output channel and b' = β − μ·γ/√(σ²+ε);
 * - `X.bn` (BatchNorm1d) followed by `X.l` (Linear) becomes one Linear `X` with W' = W·diag(γ/√(σ²+ε)) and
 *   b' = W·(β − μγ/√(σ²+ε)) + b.
 * Each pair module is built either unfused (training form, official names with `.c`/`.bn`/`.l`) or fused
 * (a single layer with a bias); `foldBatchNorms` turns a training-form state dict into the fused one.
 */
import * as tf from '@tensorflow/tfjs';
import { Module, type StateDict } from '../../nn/module';
import { BatchNorm2d, Conv2d, Linear, type Conv2dOptions } from '../../nn/layers';

/** BatchNorm over the last axis of any tensor (BatchNorm1d on tokens flattened to (B·N, C), or on (B, C)). */
export class BatchNormLastAxis extends BatchNorm2d {
  override forward<T extends tf.Tensor>(x: T): T;
  override forward(x: tf.Tensor): tf.Tensor {
    const shape = x.shape;
    const c = shape[shape.length - 1];
    const x4 = x.reshape([-1, 1, 1, c]) as tf.Tensor4D;
    const y = super.forward(x4);
    x4.dispose();
    const out = y.reshape(shape);
    y.dispose();
    return out;
  }
}

/** Conv2d (no bias) + BatchNorm2d, named `c` and `bn`; fused: one Conv2d with bias at this module's name. */
export class Conv2dBN extends Module {
  readonly c?: Conv2d;
  readonly bn?: BatchNorm2d;
  readonly fusedConv?: Conv2d;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, opts: Omit<Conv2dOptions, 'bias'> & { fused?: boolean } = {}) {
    super();
    const [inCh, outCh] = [inChannels, outChannels];
    const { fused, ...convOpts } = opts;
    if (fused) {
      // The folded layer's weight and bias sit directly under this module's name (official `X.weight`).
      this.fusedConv = new Conv2d(inCh, outCh, kernel, { ...convOpts, bias: true });
      for (const [n, p] of this.fusedConv.namedEntries()) this.adoptParameter(n, p.variable, p.layout);
    } else {
      this.c = this.addModule('c', new Conv2d(inCh, outCh, kernel, { ...convOpts, bias: false }));
      this.bn = this.addModule('bn', new BatchNorm2d(outCh));
    }
  }

  forward(x: tf.Tensor4D, relu = false): tf.Tensor4D {
    if (this.fusedConv) return this.fusedConv.forward(x, relu);
    const y = this.c!.forward(x);
    const z = this.bn!.forward(y);
    y.dispose();
    if (!relu) return z;
    const r = tf.relu(z);
    z.dispose();
    return r;
  }
}

/** Linear (no bias) + BatchNorm1d over the last axis, named `c` and `bn`; fused: one Linear with bias. */
export class LinearBN extends Module {
  readonly c?: Linear;
  readonly bn?: BatchNormLastAxis;
  readonly fusedLinear?: Linear;
  constructor(inF: number, outF: number, opts: { fused?: boolean } = {}) {
    super();
    if (opts.fused) {
      this.fusedLinear = new Linear(inF, outF, { bias: true });
      for (const [n, p] of this.fusedLinear.namedEntries()) this.adoptParameter(n, p.variable, p.layout);
    } else {
      this.c = this.addModule('c', new Linear(inF, outF, { bias: false }));
      this.bn = this.addModule('bn', new BatchNormLastAxis(outF));
    }
  }
  forward(x: tf.Tensor): tf.Tensor {
    if (this.fusedLinear) return this.fusedLinear.forward(x);
    const y = this.c!.forward(x);
    const z = this.bn!.forward(y);
    y.dispose();
    return z;
  }
}

/** BatchNorm1d then Linear, named `bn` and `l` (the classifier heads); fused: one Linear with bias. */
export class BNLinear extends Module {
  readonly bn?: BatchNormLastAxis;
  readonly l?: Linear;
  readonly fusedLinear?: Linear;
  constructor(inF: number, outF: number, opts: { fused?: boolean } = {}) {
    super();
    if (opts.fused) {
      this.fusedLinear = new Linear(inF, outF, { bias: true });
      for (const [n, p] of this.fusedLinear.namedEntries()) this.adoptParameter(n, p.variable, p.layout);
    } else {
      this.bn = this.addModule('bn', new BatchNormLastAxis(inF));
      this.l = this.addModule('l', new Linear(inF, outF, { bias: true }));
    }
  }
  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (this.fusedLinear) return this.fusedLinear.forward(x) as tf.Tensor2D;
    const y = this.bn!.forward(x);
    const z = this.l!.forward(y) as tf.Tensor2D;
    y.dispose();
    return z;
  }
}

/**
 * Folds every BN pair of a training-form state dict (PyTorch layout): `X.c.weight` + `X.bn.*` -> `X.weight`,
 * `X.bias`; `X.bn.*` + `X.l.{weight,bias}` -> `X.weight`, `X.bias`. Other entries are copied. The caller
 * disposes the result.
 */
export function foldBatchNorms(sd: StateDict, eps = 1e-5): StateDict {
  const out: StateDict = {};
  const used = new Set<string>();
  const bnPrefixes = Object.keys(sd).filter((k) => k.endsWith('.bn.running_var')).map((k) => k.slice(0, -'.bn.running_var'.length));
  tf.tidy(() => {
    for (const p of bnPrefixes) {
      const g = sd[`${p}.bn.weight`];
      const beta = sd[`${p}.bn.bias`];
      const mu = sd[`${p}.bn.running_mean`];
      const varT = sd[`${p}.bn.running_var`];
      const s = g.div(varT.add(eps).sqrt());
      const shift = beta.sub(mu.mul(s));
      for (const k of ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']) used.add(`${p}.bn.${k}`);
      if (sd[`${p}.c.weight`]) {
        const w = sd[`${p}.c.weight`];
        used.add(`${p}.c.weight`);
        const sShape = [w.shape[0], ...w.shape.slice(1).map(() => 1)];
        out[`${p}.weight`] = tf.keep(w.mul(s.reshape(sShape)));
        out[`${p}.bias`] = tf.keep(shift.clone());
      } else if (sd[`${p}.l.weight`]) {
        const w = sd[`${p}.l.weight`] as tf.Tensor2D;
        used.add(`${p}.l.weight`);
        used.add(`${p}.l.bias`);
        out[`${p}.weight`] = tf.keep(w.mul(s.reshape([1, -1])));
        const lb = sd[`${p}.l.bias`];
        const b = tf.matMul(w, shift.reshape([-1, 1])).reshape([-1]);
        out[`${p}.bias`] = tf.keep(lb ? b.add(lb) : b);
      } else {
        throw new Error(`foldBatchNorms: '${p}.bn' follows neither '${p}.c' nor precedes '${p}.l'`);
      }
    }
  });
  for (const [k, v] of Object.entries(sd)) if (!used.has(k)) out[k] = v.clone();
  return out;
}
