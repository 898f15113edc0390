/**
 * np.nanmean of a float64 vector: NaNs become 0, the vector is summed with numpy's pairwise summation
 * (8-way unrolled blocks of up to 128, recursive halves above; 8192-element outer blocks), then divided by
 * the number of non-NaN entries. A plain left-to-right sum differs in the last bit for some inputs.
 */

function pairwiseSum(a: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    const end8 = n - (n % 8);
    let i = 8;
    for (; i < end8; i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

export function npSum(a: Float64Array): number {
  let acc = 0;
  for (let s = 0; s < a.length; s += 8192) acc += pairwiseSum(a, s, Math.min(8192, a.length - s));
  return acc;
}

/** NaN when every entry is NaN (numpy warns and returns nan). */
export function npNanMean(values: ArrayLike<number>): number {
  const b = new Float64Array(values.length);
  let cnt = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    b[i] = v;
    cnt++;
  }
  return npSum(b) / cnt;
}
