import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { opCodeMismatch } from './op_codes';

/** The N-API surface of `packages/core/native` (see native/src/addon.cc for the argument conventions). */
export interface NativeAddon {
  /** glibc malloc keeps freed memory mapped (see addon.cc); false with LITV2_NATIVE_MALLOC=default. */
  mallocTuned: boolean;
  setNumThreads(n: number): void;
  numThreads(): number;
  blasConfig(): string;
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aOff: Float64Array, bOff: Float64Array): void;
  biasAct(y: Float32Array, rows: number, cols: number, bias: Float32Array | null, act: number, alpha: number): void;
  conv(kind: number, a: Float32Array, b: Float32Array | null, out: Float32Array, geom: Float64Array): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, y: Float32Array, shape: Float64Array, sa: Float64Array, sb: Float64Array): void;
  addN(xs: Float32Array[], y: Float32Array): void;
  softmax(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  reduce(op: number, x: Float32Array, y: Float32Array, outer: number, r: number, inner: number): void;
  eluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  stridedCopy(x: ArrayBufferView, xOffset: number, y: ArrayBufferView, shape: Float64Array, sx: Float64Array): void;
  pad(x: ArrayBufferView, y: ArrayBufferView, xshape: Float64Array, before: Float64Array, yshape: Float64Array, fill: number, isInt: boolean): void;
  concat(xs: ArrayBufferView[], widths: Float64Array, y: ArrayBufferView, outer: number): void;
  gather(x: ArrayBufferView, idx: Int32Array, y: ArrayBufferView, outer: number, axisSize: number, inner: number): number;
  gelu(x: Float32Array, y: Float32Array): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, cols: number, eps: number): void;
  layerNormGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
    dx: Float32Array | null, dgamma: Float32Array | null, dbeta: Float32Array | null, rows: number, cols: number): void;
  segmentSum(x: Float32Array, ids: Int32Array, y: Float32Array, n: number, inner: number, numSegments: number): void;
}

/** Every function of NativeAddon; checked at load so a stale build falls back instead of failing later. */
const REQUIRED_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'setNumThreads', 'numThreads', 'blasConfig', 'batchMatMul', 'biasAct', 'conv', 'unary', 'binary', 'addN', 'softmax',
  'reduce', 'eluGrad', 'stridedCopy', 'pad', 'concat', 'gather', 'gelu', 'geluGrad', 'layerNorm', 'layerNormGrad', 'segmentSum',
];

/** Where the built add-on lives, relative to the repository root. */
export const NATIVE_ADDON_RELPATH = path.join('packages', 'core', 'native', 'build', 'Release', 'litv2_native.node');

/**
 * Finds the add-on: `LITV2_NATIVE_ADDON` if set, else walks up from the working directory (and from this
 * file's directory under CommonJS) to a folder containing NATIVE_ADDON_RELPATH. Works under jest (CJS) and
 * tsx (ESM) without import.meta.
 */
export function findNativeAddon(): string | undefined {
  const env = process.env.LITV2_NATIVE_ADDON;
  if (env) return fs.existsSync(env) ? path.resolve(env) : undefined;
  const starts = [process.cwd()];
  if (typeof __dirname !== 'undefined') starts.push(__dirname);
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      const candidate = path.join(dir, NATIVE_ADDON_RELPATH);
      if (fs.existsSync(candidate)) return candidate;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

let cached: { addon: NativeAddon; file: string } | { error: string } | undefined;

/** Loads the add-on once; returns the reason when it is not built or cannot be loaded (e.g. no libopenblas). */
export function loadNativeAddon(): { addon: NativeAddon; file: string } | { error: string } {
  if (cached) return cached;
  const file = findNativeAddon();
  if (!file) {
    cached = { error: `add-on not built (${NATIVE_ADDON_RELPATH} not found; run \`node tools/build-native.mjs\`)` };
    return cached;
  }
  try {
    const req = createRequire(path.join(process.cwd(), 'noop.js'));
    const addon = req(file) as Record<string, unknown>;
    // A build older than the TypeScript side lacks functions that kernels would only miss mid-run.
    const missing = REQUIRED_FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
    const mismatch = missing.length ? undefined : opCodeMismatch(addon.opCodes);
    cached = missing.length
      ? { error: `${file} is out of date (no ${missing.join(', ')}); rebuild it with \`node tools/build-native.mjs\`` }
      : mismatch
        ? { error: `${file}: op codes differ from backend/native/op_codes.ts (${mismatch}); rebuild it with \`node tools/build-native.mjs\`` }
        : { addon: addon as unknown as NativeAddon, file };
  } catch (e) {
    cached = { error: `failed to load ${file}: ${(e as Error).message.split('\n')[0]}` };
  }
  return cached;
}
