/**
 * Optimizers with mmcv-style parameter groups. The update rules follow PyTorch exactly:
 * `torch.optim.AdamW` (decoupled weight decay: p -= lr*wd*p before the Adam step, bias-corrected moments,
 * eps added after dividing sqrt(v) by sqrt(1-beta2^t)) and `torch.optim.SGD` (momentum buffer initialised to
 * the first gradient, weight decay added to the gradient, optional dampening/nesterov).
 * Slots are created eagerly (zeros) so the tensor count is the same before and after the first step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module';
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { OPTIMIZERS } from '../registry/registries';
import { OPTIMIZER_SCHEMAS } from '../config/run_schema';
import type { StateDict } from '../nn/module';
import type { OptimizerState } from '../checkpoint/safetensors';

// Checkpointed optimizer state is core/checkpoint's type; the slots are kept in our (tfjs) layout.
export type { OptimizerState };

/** One parameter with its resolved multipliers (mmcv `paramwise_cfg`). */
export interface ParamEntry {
  name: string;
  variable: tf.Variable;
  lrMult: number;
  decayMult: number;
}

/** mmcv `paramwise_cfg`: `custom_keys` maps a substring of the parameter name to multipliers. */
export interface ParamwiseCfg {
  custom_keys?: Record<string, { lr_mult?: number; decay_mult?: number }>;
  bias_lr_mult?: number;
  bias_decay_mult?: number;
  /**
   * Decay multiplier of every parameter with at most one dimension (biases, norm weights) that no custom key
   * gives a decay_mult: timm's `set_weight_decay` rule (0 = no decay on 1-D params), the classification recipe's.
   */
  one_dim_decay_mult?: number;
}

/**
 * Resolves per-parameter multipliers like mmcv's DefaultOptimizerConstructor: custom keys are tried longest
 * first (ties alphabetical) and the first one contained in the name wins; otherwise bias_* multipliers apply
 * to parameters named `*.bias`.
 */
export function resolveParamGroups(named: [string, tf.Variable][], paramwise: ParamwiseCfg = {}): ParamEntry[] {
  const custom = paramwise.custom_keys ?? {};
  const keys = Object.keys(custom).sort().sort((a, b) => b.length - a.length);
  const oneDimDecay = (v: tf.Variable) => (v.rank <= 1 ? paramwise.one_dim_decay_mult ?? 1 : 1);
  return named.map(([name, variable]) => {
    for (const k of keys) {
      if (name.includes(k)) {
        return { name, variable, lrMult: custom[k].lr_mult ?? 1, decayMult: custom[k].decay_mult ?? oneDimDecay(variable) };
      }
    }
    const isBias = name.endsWith('.bias') || name === 'bias';
    return {
      name,
      variable,
      lrMult: isBias ? paramwise.bias_lr_mult ?? 1 : 1,
      decayMult: isBias && paramwise.bias_decay_mult !== undefined ? paramwise.bias_decay_mult : oneDimDecay(variable),
    };
  });
}

export interface Optimizer {
  readonly type: string;
  readonly params: ParamEntry[];
  /** Base learning rate from the config (before schedule and multipliers). */
  readonly baseLr: number;
  /** Current learning rate of the base group (schedule already applied). */
  lr: number;
  /** Number of steps taken. */
  readonly stepCount: number;
  /** Applies one update; `grads` keyed by parameter name. Does not dispose `grads`. */
  step(grads: Record<string, tf.Tensor>): void;
  getState(): OptimizerState;
  /** Restores slots and step count (tensors are copied; the caller keeps ownership of `state`). */
  setState(state: OptimizerState): void;
  dispose(): void;
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly type: string;
  lr: number;
  stepCount = 0;
  protected readonly slots: Record<string, tf.Variable[]> = {};
  constructor(readonly params: ParamEntry[], readonly baseLr: number, slotNames: string[]) {
    this.lr = baseLr;
    for (const s of slotNames) {
      this.slots[s] = params.map((p) => {
        const z = tf.zerosLike(p.variable);
        const v = tf.variable(z, false);
        z.dispose(); // the variable keeps the data; the initial tensor handle would otherwise leak
        return v;
      });
    }
  }
  abstract step(grads: Record<string, tf.Tensor>): void;

  protected gradOf(grads: Record<string, tf.Tensor>, p: ParamEntry): tf.Tensor | undefined {
    return grads[p.name];
  }

  getState(): OptimizerState {
    const slots: Record<string, StateDict> = {};
    for (const [s, vs] of Object.entries(this.slots)) {
      slots[s] = {};
      this.params.forEach((p, i) => (slots[s][p.name] = vs[i].clone()));
    }
    return { type: this.type, step: this.stepCount, slots, extra: { lr: this.lr } };
  }

  setState(state: OptimizerState): void {
    if (state.type !== this.type) throw new Error(`optimizer state is for '${state.type}', not '${this.type}'`);
    for (const [s, vs] of Object.entries(this.slots)) {
      const src = state.slots[s];
      if (!src) throw new Error(`optimizer state lacks slot '${s}'`);
      this.params.forEach((p, i) => {
        const t = src[p.name];
        if (!t) throw new Error(`optimizer state lacks '${s}' for parameter '${p.name}'`);
        if (t.shape.join(',') !== vs[i].shape.join(',')) {
          throw new Error(`optimizer state '${s}.${p.name}' has shape [${t.shape}] but the parameter is [${vs[i].shape}]`);
        }
        vs[i].assign(t);
      });
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const vs of Object.values(this.slots)) for (const v of vs) v.dispose();
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weight_decay?: number;
  amsgrad?: false;
}

/** `torch.optim.AdamW` (weight_decay default 0.01 as in PyTorch). */
export class AdamW extends BaseOptimizer {
  readonly type = 'AdamW';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  constructor(params: ParamEntry[], opts: AdamWOptions) {
    super(params, opts.lr, ['exp_avg', 'exp_avg_sq']);
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weight_decay ?? 0.01;
  }

  step(grads: Record<string, tf.Tensor>): void {
    this.stepCount++;
    const t = this.stepCount;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const m = this.slots.exp_avg;
    const v = this.slots.exp_avg_sq;
    this.params.forEach((p, i) => {
      const g = this.gradOf(grads, p);
      if (!g) return; // PyTorch skips parameters without a gradient
      const lr = this.lr * p.lrMult;
      const wd = this.weightDecay * p.decayMult;
      tf.tidy(() => {
        const m1 = m[i].mul(this.beta1).add(g.mul(1 - this.beta1));
        const v1 = v[i].mul(this.beta2).add(g.square().mul(1 - this.beta2));
        const denom = v1.sqrt().div(Math.sqrt(bc2)).add(this.eps);
        let w: tf.Tensor = p.variable;
        if (wd !== 0) w = w.mul(1 - lr * wd);
        w = w.sub(m1.div(denom).mul(lr / bc1));
        m[i].assign(m1);
        v[i].assign(v1);
        p.variable.assign(w);
      });
    });
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weight_decay?: number;
  nesterov?: boolean;
}

/** `torch.optim.SGD`. */
export class SGD extends BaseOptimizer {
  readonly type = 'SGD';
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  constructor(params: ParamEntry[], opts: SGDOptions) {
    super(params, opts.lr, opts.momentum ? ['momentum_buffer'] : []);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weight_decay ?? 0;
    this.nesterov = opts.nesterov ?? false;
  }

  step(grads: Record<string, tf.Tensor>): void {
    const first = this.stepCount === 0;
    this.stepCount++;
    const buf = this.slots.momentum_buffer;
    this.params.forEach((p, i) => {
      const g0 = this.gradOf(grads, p);
      if (!g0) return;
      const lr = this.lr * p.lrMult;
      const wd = this.weightDecay * p.decayMult;
      tf.tidy(() => {
        let d: tf.Tensor = wd !== 0 ? g0.add(p.variable.mul(wd)) : g0;
        if (this.momentum !== 0) {
          // PyTorch initialises the buffer with the first gradient (no dampening on that step).
          const b = first ? d : buf[i].mul(this.momentum).add(d.mul(1 - this.dampening));
          buf[i].assign(b);
          d = this.nesterov ? d.add(b.mul(this.momentum)) : b;
        }
        p.variable.assign(p.variable.sub(d.mul(lr)));
      });
    });
  }
}

function checkParamwise(cfg: ConfigNode, origin: ConfigOrigin): ParamwiseCfg {
  const paramwise = (cfg.paramwise_cfg ?? {}) as ParamwiseCfg & Record<string, unknown>;
  for (const k of Object.keys(paramwise)) {
    if (!['custom_keys', 'bias_lr_mult', 'bias_decay_mult', 'one_dim_decay_mult'].includes(k)) {
      throw new ConfigError(`unsupported paramwise_cfg key '${k}' (supported: custom_keys, bias_lr_mult, bias_decay_mult, one_dim_decay_mult)`, { ...origin, path: `${origin.path}.paramwise_cfg.${k}` });
    }
  }
  return paramwise;
}

/** Accepted keys (mmcv / torch.optim names): the typed schema of config/run_schema.ts, no defaults. */
const keysOf = (schema: Record<string, unknown>): ConfigNode => Object.fromEntries(Object.keys(schema).filter((k) => k !== 'type').map((k) => [k, undefined]));

OPTIMIZERS.register('AdamW', {
  defaults: keysOf(OPTIMIZER_SCHEMAS.AdamW),
  build: (cfg, { model }, origin) => {
    if (typeof cfg.lr !== 'number') throw new ConfigError(`'lr' must be a number`, { ...origin, path: `${origin.path}.lr` });
    if (cfg.amsgrad) throw new ConfigError(`amsgrad is not supported`, { ...origin, path: `${origin.path}.amsgrad` });
    return new AdamW(resolveParamGroups(model.namedParameters(), checkParamwise(cfg, origin)), {
      lr: cfg.lr,
      betas: cfg.betas as [number, number] | undefined,
      eps: cfg.eps as number | undefined,
      weight_decay: cfg.weight_decay as number | undefined,
    });
  },
});

OPTIMIZERS.register('SGD', {
  defaults: keysOf(OPTIMIZER_SCHEMAS.SGD),
  build: (cfg, { model }, origin) => {
    if (typeof cfg.lr !== 'number') throw new ConfigError(`'lr' must be a number`, { ...origin, path: `${origin.path}.lr` });
    return new SGD(resolveParamGroups(model.namedParameters(), checkParamwise(cfg, origin)), {
      lr: cfg.lr,
      momentum: cfg.momentum as number | undefined,
      dampening: cfg.dampening as number | undefined,
      weight_decay: cfg.weight_decay as number | undefined,
      nesterov: cfg.nesterov as boolean | undefined,
    });
  },
});

/** Builds an optimizer from an mmcv `optimizer` config node over `model`'s trainable parameters. */
export function buildOptimizer(model: Module, cfg: ConfigNode, file?: string): Optimizer {
  return OPTIMIZERS.build(cfg, { model }, { file, path: 'optimizer' });
}
