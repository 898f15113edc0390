/**
 * The op codes the add-on's kernels take (`act`, `kind`, `op` arguments), by name: the TypeScript copy of the
 * enums in native/src/kernels.h. The add-on exports its own table (`opCodes`, built from those enums in
 * addon.cc) and `loadNativeAddon` refuses a build whose table differs, so a code changed on one side only
 * is caught at load (the backend falls back to plain tfjs kernels and says why) instead of computing the wrong op.
 */
export const NATIVE_OP_CODES = {
  act: { linear: 0, relu: 1, relu6: 2, sigmoid: 3, leakyrelu: 4, elu: 5 },
  conv: { conv: 0, convBackInput: 1, convBackFilter: 2, dw: 3, dwBackInput: 4, dwBackFilter: 5, avgPool: 6, avgPoolGrad: 7 },
  unary: {
    neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, square: 5, relu: 6, relu6: 7, sigmoid: 8, tanh: 9, abs: 10, reciprocal: 11,
    erf: 12, leakyrelu: 13, elu: 14, floor: 15, step: 16, sign: 17, log1p: 18, expm1: 19, ceil: 20, round: 21,
  },
  binary: { add: 0, sub: 1, mul: 2, div: 3, sqdiff: 4, max: 5, min: 6, pow: 7 },
  reduce: { sum: 0, mean: 1, max: 2, min: 3, prod: 4 },
} as const;

export type NativeOpCodes = { readonly [group: string]: { readonly [op: string]: number } };

/** The first difference between the add-on's table and ours ('unary.exp: add-on 2, TypeScript 1'), or undefined. */
export function opCodeMismatch(addonTable: unknown, ours: NativeOpCodes = NATIVE_OP_CODES): string | undefined {
  if (typeof addonTable !== 'object' || addonTable === null) return 'the add-on exports no op-code table';
  const theirs = addonTable as Record<string, Record<string, unknown> | undefined>;
  for (const group of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const a = theirs[group] ?? {}, t = ours[group] ?? {};
    for (const op of new Set([...Object.keys(t), ...Object.keys(a)])) {
      if (a[op] !== t[op]) return `${group}.${op}: add-on ${a[op] ?? 'missing'}, TypeScript ${t[op] ?? 'missing'}`;
    }
  }
  return undefined;
}
