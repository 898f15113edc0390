import * as fs from 'node:fs';
import * as path from 'node:path';

/** One tensor entry of a `litv2-fixture-v1` manifest. */
export interface FixtureTensorEntry {
  name: string;
  role: string;
  shape: number[];
  offset: number;
  nbytes: number;
  orig_dtype?: string;
  note?: string;
  used_by?: string[];
}

export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
  origDtype?: string;
}

/** A JSON manifest plus its little-endian float32 .bin, read lazily by tensor name. */
export class BinFixture {
  readonly json: { case: string; meta: Record<string, unknown>; tensors: FixtureTensorEntry[]; bin_file: string };
  private readonly bin: Buffer;
  private readonly byName = new Map<string, FixtureTensorEntry>();
  constructor(readonly file: string) {
    this.json = JSON.parse(fs.readFileSync(file, 'utf8'));
    if ((this.json as { format?: string }).format !== 'litv2-fixture-v1') throw new Error(`${file}: not a litv2-fixture-v1 manifest`);
    this.bin = fs.readFileSync(path.join(path.dirname(file), this.json.bin_file));
    for (const t of this.json.tensors) this.byName.set(t.name, t);
  }
  get meta(): Record<string, unknown> {
    return this.json.meta;
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  names(): string[] {
    return [...this.byName.keys()];
  }
  get(name: string): FixtureTensor {
    const e = this.byName.get(name);
    if (!e) throw new Error(`${this.file}: no tensor '${name}'`);
    const data = new Float32Array(e.nbytes / 4);
    // Copy (the Buffer may not be 4-byte aligned); the files are little-endian like every supported host.
    Buffer.from(this.bin.buffer, this.bin.byteOffset + e.offset, e.nbytes).copy(Buffer.from(data.buffer));
    return { shape: e.shape, data, origDtype: e.orig_dtype };
  }
}

/** Max |a-b| and whether every element satisfies |a-b| <= atol + rtol·|b| (NaNs must match). */
export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-4, rtol = 1e-4): { maxAbs: number; ok: boolean; worst: number; firstBad: number } {
  if (actual.length !== expected.length) return { maxAbs: Infinity, ok: false, worst: -1, firstBad: -1 };
  let firstBad = -1;
  let maxAbs = 0;
  let ok = true;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (!(Number.isNaN(a) && Number.isNaN(b))) {
        ok = false;
        worst = i;
        maxAbs = Infinity;
        if (firstBad < 0) firstBad = i;
      }
      continue;
    }
    const d = Math.abs(a - b);
    if (d > maxAbs) {
      maxAbs = d;
      worst = i;
    }
    if (d > atol + rtol * Math.abs(b)) {
      ok = false;
      if (firstBad < 0) firstBad = i;
    }
  }
  return { maxAbs, ok, worst, firstBad };
}

/** Reads a plain-JSON fixture (`litv2-fixture-v1-json`). */
export function readJsonFixture<T = Record<string, unknown>>(file: string): T {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (j.format !== 'litv2-fixture-v1-json') throw new Error(`${file}: not a litv2-fixture-v1-json file`);
  return j as T;
}

/** NCHW float data -> NHWC order (for comparing with our NHWC activations). */
export function nchwToNhwc(data: Float32Array, shape: number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}
