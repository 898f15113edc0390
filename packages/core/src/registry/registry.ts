import { didYouMean } from '../utils/suggest';

/** A config sub-tree as read from YAML: `{ type: 'Name', ...fields }`. */
export type ConfigNode = Record<string, unknown>;

/** Where a config node came from, so errors can name the file and the dotted key. */
export interface ConfigOrigin {
  /** The config file the user asked for (or the one that defined the node). */
  file?: string;
  /** Dotted path of the node inside the merged config, e.g. `model.backbone`. */
  path: string;
}

export class ConfigError extends Error {
  constructor(message: string, readonly origin?: ConfigOrigin) {
    super(origin ? `${origin.file ? `${origin.file}: ` : ''}${origin.path ? `${origin.path}: ` : ''}${message}` : message);
    this.name = 'ConfigError';
  }
}

export interface RegisteredBuilder<T, C extends ConfigNode, X> {
  /** Every accepted key with its default (`undefined` = required or optional without default). */
  defaults: C;
  /** Keys that may be absent from `defaults` but are still accepted (e.g. free-form sub-trees). */
  extraKeys?: readonly string[];
  build: (cfg: C, ctx: X, origin: ConfigOrigin) => T;
  /** Checks nested keys of the merged config without building (run by `resolve`, so also by `build`). */
  check?: (cfg: C, origin: ConfigOrigin) => void;
}

/**
 * Builders found by `type` name, per kind (backbone, neck, head, ...). Unknown types and unknown keys are
 * errors that name the config file and dotted key, with the closest valid name as a suggestion.
 */
export class Registry<T, X = undefined> {
  private readonly entries = new Map<string, RegisteredBuilder<T, ConfigNode, X>>();
  /** `typeKey`: the key naming the type (`type`; mmcv's lr_config uses `policy`). */
  constructor(readonly kind: string, readonly typeKey: string = 'type') {}

  register<C extends ConfigNode>(type: string, builder: RegisteredBuilder<T, C, X>): void {
    if (this.entries.has(type)) throw new Error(`${this.kind} '${type}' is already registered`);
    this.entries.set(type, builder as unknown as RegisteredBuilder<T, ConfigNode, X>);
  }

  has(type: string): boolean {
    return this.entries.has(type);
  }

  types(): string[] {
    return [...this.entries.keys()];
  }

  /** The keys a type accepts (besides the type key) and their defaults (`undefined`: required). */
  defaultsOf(type: string): ConfigNode {
    const entry = this.entries.get(type);
    if (!entry) throw new Error(`${this.kind} '${type}' is not registered`);
    return { ...entry.defaults };
  }

  /** Merged defaults + cfg, validated, without building (useful to inspect or dump). */
  resolve(cfg: ConfigNode, origin: ConfigOrigin = { path: this.kind }): { type: string; cfg: ConfigNode } {
    const type = cfg[this.typeKey];
    if (typeof type !== 'string') throw new ConfigError(`missing '${this.typeKey}' for ${this.kind}`, origin);
    const entry = this.entries.get(type);
    if (!entry) {
      throw new ConfigError(
        `unknown ${this.kind}${this.typeKey === 'type' ? ' type' : ''} '${type}'${didYouMean(type, this.entries.keys())}; known: ${this.types().join(', ')}`,
        { ...origin, path: `${origin.path}.${this.typeKey}` },
      );
    }
    const allowed = new Set([...Object.keys(entry.defaults), ...(entry.extraKeys ?? []), this.typeKey]);
    for (const k of Object.keys(cfg)) {
      if (!allowed.has(k)) {
        throw new ConfigError(`unknown key '${k}' for ${this.kind} '${type}'${didYouMean(k, allowed)}`, { ...origin, path: `${origin.path}.${k}` });
      }
    }
    const merged: ConfigNode = { ...entry.defaults };
    for (const [k, v] of Object.entries(cfg)) if (k !== this.typeKey && v !== undefined) merged[k] = v;
    entry.check?.(merged, origin);
    return { type, cfg: merged };
  }

  /** Builds from a `{type, ...}` node; `ctx` is the registry's build context (omit it when `X` is undefined). */
  build(cfg: ConfigNode, ctx?: X, origin: ConfigOrigin = { path: this.kind }): T {
    const { type, cfg: merged } = this.resolve(cfg, origin);
    return this.entries.get(type)!.build(merged, ctx as X, origin);
  }
}
