/**
 * numpy's float64 summation order and linspace, so that means and thresholds agree with numpy bit for bit.
 *
 * np.add.reduce over a contiguous float64 array sums blocks of 8192 elements (the ufunc buffer size) one after
 * another into an accumulator starting at 0; inside a block it uses pairwise summation with an 8-way unrolled
 * base case of up to 128 elements.
 */

const BLOCK = 8192;
const PW_BLOCKSIZE = 128;

function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    let r0 = a[start];
    let r1 = a[start + 1];
    let r2 = a[start + 2];
    let r3 = a[start + 3];
    let r4 = a[start + 4];
    let r5 = a[start + 5];
    let r6 = a[start + 6];
    let r7 = a[start + 7];
    const end8 = n - (n % 8);
    let i = 8;
    for (; i < end8; i += 8) {
      const o = start + i;
      r0 += a[o];
      r1 += a[o + 1];
      r2 += a[o + 2];
      r3 += a[o + 3];
      r4 += a[o + 4];
      r5 += a[o + 5];
      r6 += a[o + 6];
      r7 += a[o + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** np.sum of a 1-D float64 array (first `n` elements of `a`). */
export function npSum(a: ArrayLike<number>, n: number = a.length): number {
  let acc = 0;
  for (let s = 0; s < n; s += BLOCK) acc += pairwiseSum(a, s, Math.min(BLOCK, n - s));
  return acc;
}

/** np.mean of a 1-D float64 array; NaN for an empty one. */
export function npMean(a: ArrayLike<number>, n: number = a.length): number {
  return npSum(a, n) / n;
}

/** np.nanmean: NaNs replaced by 0 for the (pairwise) sum, divided by the count of non-NaN values. */
export function npNanMean(a: ArrayLike<number>): number {
  const b = new Float64Array(a.length);
  let cnt = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (Number.isNaN(v)) continue;
    b[i] = v;
    cnt++;
  }
  return npSum(b) / cnt;
}

/**
 * np.linspace(start, stop, num) with endpoint=True: start + i*step for i < num-1, and exactly `stop` last
 * (numpy 1.18+). The step is computed as (stop-start)/(num-1).
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  if (num <= 0) return out;
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  for (let i = 0; i < num; i++) out.push(step === 0 ? start + (i / div) * delta : start + i * step);
  out[num - 1] = stop;
  return out;
}
