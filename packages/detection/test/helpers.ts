import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const repoRoot = path.resolve(__dirname, '../../..');
export const refDir = path.resolve(repoRoot, '../shared/reference');
export const detRef = (f: string) => path.join(refDir, 'detection', f);

/** Asserts |a - b| <= atol + rtol·|b| element-wise, naming the first offending index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-4): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (|diff| ${d})`);
    }
    max = Math.max(max, d);
  }
  return max;
}

export function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

export const flat = (x: unknown): number[] => (Array.isArray(x) ? (x as unknown[]).flatMap(flat) : [x as number]);
export const t2 = (x: number[][]): tf.Tensor2D => (x.length ? tf.tensor2d(x) : tf.zeros([0, 4]) as tf.Tensor2D);
