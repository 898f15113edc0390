// Shared by the native*.test.ts files: run the same computation with the add-on's kernels and with the
// original tfjs cpu kernels, and compare.
import * as tf from '@tensorflow/tfjs';
import { initBackend, loadNativeAddon, registerNativeKernels, unregisterNativeKernels } from '@litv2/core/node';

const load = loadNativeAddon();
export const nativeAvailable = 'addon' in load;
if (!nativeAvailable) {
  // Visible note instead of silent passes: the add-on is built by tools/setup.sh (tools/build-native.mjs).
  console.warn(`[native tests] skipped: ${(load as { error: string }).error}`);
}
/** `describe` that skips (with the note above) when the add-on is not built. */
export const describeNative = nativeAvailable ? describe : describe.skip;

export function setupNative(): void {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    tf.setBackend('cpu');
  });
  afterAll(() => unregisterNativeKernels());
}

let seed = 1234;
export const rand = (shape: number[], lo = -1, hi = 1): tf.Tensor => tf.randomUniform(shape, lo, hi, 'float32', seed++);

type Out = tf.Tensor | tf.Tensor[] | Record<string, tf.Tensor>;
function flatten(o: Out): tf.Tensor[] {
  if (o instanceof tf.Tensor) return [o];
  if (Array.isArray(o)) return o;
  return Object.keys(o).sort().map((k) => o[k]);
}

/** Runs `fn` natively and with the original kernels; returns both results as plain arrays with shapes. */
export function runBoth(fn: () => Out): { native: { shape: number[]; data: Float32Array | Int32Array | Uint8Array }[]; ref: { shape: number[]; data: Float32Array | Int32Array | Uint8Array }[] } {
  const grab = (): { shape: number[]; data: Float32Array | Int32Array | Uint8Array }[] =>
    tf.tidy(() => flatten(fn()).map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array | Int32Array | Uint8Array })));
  const reg = registerNativeKernels();
  if (!reg.ok) throw new Error(reg.reason);
  const native = grab();
  unregisterNativeKernels();
  const ref = grab();
  registerNativeKernels();
  return { native, ref };
}

/** Asserts native == original within `tol` relative to the reference's magnitude (max |a-b| / (1 + max|b|)). */
export function expectSame(fn: () => Out, tol = 1e-5): void {
  const { native, ref } = runBoth(fn);
  expect(native.length).toBe(ref.length);
  native.forEach((n, i) => {
    expect(n.shape).toEqual(ref[i].shape);
    let maxDiff = 0, maxRef = 0;
    for (let j = 0; j < n.data.length; ++j) {
      const a = n.data[j], b = ref[i].data[j];
      if (Number.isNaN(a) || Number.isNaN(b)) {
        if (!(Number.isNaN(a) && Number.isNaN(b))) maxDiff = Infinity;
        continue;
      }
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
      maxRef = Math.max(maxRef, Math.abs(b));
    }
    const rel = maxDiff / (1 + maxRef);
    if (!(rel <= tol)) throw new Error(`output ${i} (shape ${n.shape}): max |native - tfjs| = ${maxDiff} (scale ${maxRef}) exceeds ${tol}`);
  });
}

/** Loss with non-uniform upstream gradient so that backprops are exercised meaningfully. */
export function weightedSum(y: tf.Tensor, salt = 7): tf.Scalar {
  const w = tf.randomUniform(y.shape, -1, 1, 'float32', 1000 + salt);
  return tf.sum(tf.mul(y, w));
}
