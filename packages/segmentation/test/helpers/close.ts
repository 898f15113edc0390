import { compareArrays } from '@litv2/core/node';

/** numpy-style allclose through core's fixture comparator (prints the first failure). */
export function allClose(a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-4, rtol = 1e-4): boolean {
  const r = compareArrays('values', a, b, [a.length], { atol, rtol });
  if (!r.ok) console.error(r.detail, 'max abs', r.maxAbs);
  return r.ok;
}
