import * as tf from '@tensorflow/tfjs';
import { fromTorch, toTorch, torchShape, type TorchLayout } from './layout';

/** A named, learnable (or buffer) tensor of a module. */
export interface Param {
  variable: tf.Variable;
  layout: TorchLayout;
  /** Buffers (running stats) are saved but not optimised. */
  buffer: boolean;
  /** PyTorch dtype of the entry in checkpoints (buffers such as `num_batches_tracked` are int64). */
  torchDtype: 'float32' | 'int64';
}

/** Tensors keyed by official (PyTorch) dotted names, in PyTorch layout. */
export type StateDict = Record<string, tf.Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface LoadOptions {
  /** Throw on missing or unexpected keys (default true). */
  strict?: boolean;
}

/**
 * Base class of every layer and model. Children and parameters are registered under the names the
 * official PyTorch code uses, so `namedParameters()` yields e.g. `layers.2.blocks.0.attn.l_q.weight`.
 */
export class Module {
  training = true;
  private readonly ownParams = new Map<string, Param>();
  private readonly children = new Map<string, Module>();

  /** Registers a child module under `name` (returns it for chaining in constructors). */
  protected addModule<M extends Module>(name: string, m: M): M {
    if (this.children.has(name) || this.ownParams.has(name)) throw new Error(`duplicate module name '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** Registers a trainable parameter stored in our layout; `layout` says how PyTorch stores it. */
  protected addParameter(name: string, value: tf.Tensor, layout: TorchLayout = 'same'): tf.Variable {
    return this.addParam(name, value, layout, false, 'float32');
  }

  /** Registers a non-trainable state tensor (saved in checkpoints, never optimised). */
  protected addBuffer(name: string, value: tf.Tensor, torchDtype: 'float32' | 'int64' = 'float32'): tf.Variable {
    return this.addParam(name, value, 'same', true, torchDtype);
  }

  /**
   * Registers an existing trainable variable under this module's own `name` (an inner layer that is not a child,
   * e.g. a BN-folded conv whose weights carry the pair's name as after PyTorch's in-place module replacement).
   */
  protected adoptParameter(name: string, variable: tf.Variable, layout: TorchLayout): void {
    if (this.children.has(name) || this.ownParams.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    this.ownParams.set(name, { variable, layout, buffer: false, torchDtype: 'float32' });
  }

  private addParam(name: string, value: tf.Tensor, layout: TorchLayout, buffer: boolean, torchDtype: 'float32' | 'int64') {
    if (this.children.has(name) || this.ownParams.has(name)) throw new Error(`duplicate parameter name '${name}'`);
    const variable = tf.variable(value, !buffer, undefined, 'float32');
    value.dispose();
    this.ownParams.set(name, { variable, layout, buffer, torchDtype });
    return variable;
  }

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** Every sub-module with its dotted path ('' for this module). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter and buffer with its dotted official name, in registration order. */
  namedEntries(prefix = ''): [string, Param][] {
    const out: [string, Param][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix ? `${prefix}.${n}` : n, p]);
    for (const [n, c] of this.children) out.push(...c.namedEntries(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Trainable parameters (no buffers, nothing frozen). */
  namedParameters(): [string, tf.Variable][] {
    return this.namedEntries()
      .filter(([, p]) => !p.buffer && p.variable.trainable)
      .map(([n, p]) => [n, p.variable]);
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Number of parameter elements (buffers excluded), as PyTorch's `sum(p.numel())`. */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const [, p] of this.namedEntries()) {
      if (p.buffer || (opts.trainableOnly && !p.variable.trainable)) continue;
      n += p.variable.size;
    }
    return n;
  }

  /** Stops (or restarts) gradient flow into every parameter of this module. */
  setTrainable(trainable: boolean): this {
    for (const [, p] of this.namedEntries()) if (!p.buffer) p.variable.trainable = trainable;
    return this;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Copies of every parameter and buffer in PyTorch layout (caller disposes). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [n, p] of this.namedEntries()) out[n] = toTorch(p.variable, p.layout);
    return out;
  }

  /** PyTorch shape and dtype of every entry, for checkpoint writers and key reports. */
  stateDictSpec(): Record<string, { shape: number[]; dtype: 'float32' | 'int64' }> {
    const out: Record<string, { shape: number[]; dtype: 'float32' | 'int64' }> = {};
    for (const [n, p] of this.namedEntries()) out[n] = { shape: torchShape(p.variable.shape, p.layout), dtype: p.torchDtype };
    return out;
  }

  /**
   * Loads PyTorch-layout tensors by official name. Shapes must match exactly; the tensors of `dict` are not
   * disposed. Returns the keys this module has but `dict` lacks, and the keys of `dict` it does not know.
   */
  loadStateDict(dict: StateDict, opts: LoadOptions = {}): LoadResult {
    const strict = opts.strict ?? true;
    const entries = this.namedEntries();
    const known = new Set(entries.map(([n]) => n));
    const missingKeys = entries.map(([n]) => n).filter((n) => !(n in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !known.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(
        `loadStateDict: ${missingKeys.length} missing key(s) [${missingKeys.slice(0, 8).join(', ')}${missingKeys.length > 8 ? ', …' : ''}], ` +
          `${unexpectedKeys.length} unexpected key(s) [${unexpectedKeys.slice(0, 8).join(', ')}${unexpectedKeys.length > 8 ? ', …' : ''}]`,
      );
    }
    for (const [n, p] of entries) {
      const src = dict[n];
      if (!src) continue;
      const want = torchShape(p.variable.shape, p.layout);
      if (src.size !== p.variable.size || (src.rank !== 0 && want.join(',') !== src.shape.join(','))) {
        throw new Error(`loadStateDict: '${n}' has shape [${src.shape}] but the model expects [${want}]`);
      }
      const v = tf.tidy(() => fromTorch(src.toFloat(), p.layout, p.variable.shape));
      p.variable.assign(v);
      v.dispose();
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * mmdet's `init_weights()` step for weights named in configs (`init_cfg: {type: Pretrained, ...}`): called
   * once after a model is built for training. The base class only recurses; modules with an `init_cfg`
   * override it. `log` receives the missing/unexpected key report.
   */
  async loadInitCheckpoints(log: (line: string) => void = () => {}, prefix = ''): Promise<void> {
    for (const [n, c] of this.children) await c.loadInitCheckpoints(log, prefix ? `${prefix}.${n}` : n);
  }

  /** Frees every variable of this module. */
  dispose(): void {
    for (const [, p] of this.namedEntries()) p.variable.dispose();
  }
}

/** An ordered list of modules named `0`, `1`, ... like `nn.ModuleList` / `nn.Sequential`. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): M {
    this.addModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
