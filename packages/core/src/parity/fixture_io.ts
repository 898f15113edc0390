/** Fixture parity: reading `litv2-fixture-v1` manifests (JSON + binary tensors) and comparing tensors with tolerances. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../nn/module';

/** One tensor of a `litv2-fixture-v1` manifest (SPEC §9). */
export interface FixtureTensorEntry {
  name: string;
  role: 'param' | 'input' | 'intermediate' | 'output';
  shape: number[];
  dtype: string;
  offset: number;
  nbytes: number;
  orig_dtype?: string;
  note?: string;
  used_by?: string[];
}

export interface FixtureManifest {
  case: string;
  format: string;
  byte_order?: string;
  bin_file: string;
  total_bytes?: number;
  source?: Record<string, unknown>;
  meta: Record<string, unknown>;
  tensors: FixtureTensorEntry[];
}

/** A manifest plus its float32 little-endian data, read eagerly. Tensors are in PyTorch layout. */
export class Fixture {
  readonly dir: string;
  private readonly entries = new Map<string, FixtureTensorEntry>();
  private readonly bin: Buffer;

  constructor(readonly file: string, readonly manifest: FixtureManifest) {
    this.dir = path.dirname(file);
    const binPath = path.resolve(this.dir, manifest.bin_file);
    if (!fs.existsSync(binPath)) throw new Error(`${file}: bin_file '${manifest.bin_file}' not found at ${binPath}`);
    this.bin = fs.readFileSync(binPath);
    if (manifest.total_bytes !== undefined && manifest.total_bytes !== this.bin.length) {
      throw new Error(`${file}: total_bytes is ${manifest.total_bytes} but ${manifest.bin_file} has ${this.bin.length} bytes`);
    }
    manifest.tensors.forEach((t, i) => {
      const where = `${file}: tensors[${i}]`;
      if (typeof t.name !== 'string') throw new Error(`${where}.name: expected a string`);
      if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${where} (${t.name}).shape: expected a list of sizes`);
      if (t.dtype !== 'float32') throw new Error(`${where} (${t.name}).dtype: only float32 is stored in .bin files, got '${t.dtype}'`);
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.nbytes !== 4 * n) throw new Error(`${where} (${t.name}).nbytes: ${t.nbytes} does not match shape [${t.shape}] (${4 * n} bytes)`);
      if (t.offset < 0 || t.offset + t.nbytes > this.bin.length) throw new Error(`${where} (${t.name}).offset: [${t.offset}, ${t.offset + t.nbytes}) lies outside the ${this.bin.length}-byte bin`);
      if (this.entries.has(t.name)) throw new Error(`${where}.name: duplicate tensor '${t.name}'`);
      this.entries.set(t.name, t);
    });
  }

  /** Reads a manifest (and its .bin), checking the format tag. */
  static load(file: string): Fixture {
    let manifest: FixtureManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as FixtureManifest;
    } catch (e) {
      throw new Error(`${file}: cannot read fixture manifest: ${(e as Error).message}`);
    }
    if (manifest.format !== 'litv2-fixture-v1') throw new Error(`${file}: format is '${String(manifest.format)}', expected 'litv2-fixture-v1'`);
    if (manifest.byte_order !== undefined && manifest.byte_order !== 'little') throw new Error(`${file}: byte_order '${manifest.byte_order}' is not supported (expected 'little')`);
    if (!Array.isArray(manifest.tensors)) throw new Error(`${file}: 'tensors' must be a list`);
    if (typeof manifest.meta !== 'object' || manifest.meta === null) throw new Error(`${file}: 'meta' must be an object`);
    return new Fixture(file, manifest);
  }

  get meta(): Record<string, unknown> {
    return this.manifest.meta;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): FixtureTensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.file}: no tensor named '${name}'`);
    return e;
  }

  list(role?: FixtureTensorEntry['role']): FixtureTensorEntry[] {
    return [...this.entries.values()].filter((e) => !role || e.role === role);
  }

  /** The values of a tensor (a fresh copy). */
  array(name: string): Float32Array {
    const e = this.entry(name);
    const n = e.nbytes / 4;
    if (os.endianness() === 'LE' && (this.bin.byteOffset + e.offset) % 4 === 0) {
      return new Float32Array(this.bin.buffer.slice(this.bin.byteOffset + e.offset, this.bin.byteOffset + e.offset + e.nbytes));
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.bin.readFloatLE(e.offset + 4 * i);
    return out;
  }

  /** Names of every tensor, in manifest order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Shape and a fresh copy of the values of a tensor (stored layout). */
  get(name: string): { shape: number[]; data: Float32Array } {
    return { shape: this.entry(name).shape, data: this.array(name) };
  }

  /** A tensor in the stored (PyTorch) layout; the caller disposes it. */
  tensor(name: string): tf.Tensor {
    return tf.tensor(this.array(name), this.entry(name).shape, 'float32');
  }

  /** `param` tensors by official name (optionally filtered); the caller disposes them. */
  params(filter: (e: FixtureTensorEntry) => boolean = () => true): StateDict {
    const out: StateDict = {};
    for (const e of this.list('param')) if (filter(e)) out[e.name] = this.tensor(e.name);
    return out;
  }
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Result of comparing one produced tensor (or scalar) with its reference. */
export interface TensorComparison {
  name: string;
  shape: number[];
  /** max |actual − expected| */
  maxAbs: number;
  /** max |actual − expected| / max(|expected|, atol): relative error, bounded near zero. */
  maxRel: number;
  /** Every element satisfies |a − e| <= atol + rtol·|e| (numpy `allclose`), and shapes agree. */
  ok: boolean;
  detail?: string;
}

export function compareArrays(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, shape: number[], tol: Tolerance): TensorComparison {
  if (actual.length !== expected.length) {
    return { name, shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `size ${actual.length} != expected ${expected.length}` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  let ok = true;
  let bad = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const d = Math.abs(a - e);
    if (!(d <= tol.atol + tol.rtol * Math.abs(e))) {
      if (ok) bad = i;
      ok = false;
    }
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, d);
    const r = d / Math.max(Math.abs(e), tol.atol);
    if (!(r <= maxRel)) maxRel = Number.isNaN(r) ? NaN : Math.max(maxRel, r);
  }
  return { name, shape, maxAbs, maxRel, ok, detail: ok ? undefined : `first failing element ${bad}: got ${actual[bad]}, expected ${expected[bad]}` };
}

/** Compares a produced tensor with a fixture tensor of the same layout. */
export async function compareTensor(name: string, actual: tf.Tensor, fx: Fixture, expectedName: string, tol: Tolerance): Promise<TensorComparison> {
  const e = fx.entry(expectedName);
  if (actual.shape.join(',') !== e.shape.join(',')) {
    return { name, shape: actual.shape, maxAbs: Infinity, maxRel: Infinity, ok: false, detail: `shape [${actual.shape}] != expected [${e.shape}]` };
  }
  return compareArrays(name, await actual.data(), fx.array(expectedName), e.shape, tol);
}

/** An exact check of a derived number (FLOPs, parameter count, head split). */
export function compareExact(name: string, actual: number, expected: number): TensorComparison {
  const d = Math.abs(actual - expected);
  return { name, shape: [], maxAbs: d, maxRel: d / Math.max(Math.abs(expected), 1), ok: actual === expected, detail: actual === expected ? undefined : `got ${actual}, expected ${expected}` };
}
