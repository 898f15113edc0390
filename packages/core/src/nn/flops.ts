/**
 * The FLOPs counting rule of the official LITv2 code (SPEC §5), shared by every complexity count (backbones,
 * necks, heads): multiply-accumulates of a convolution plus one op per output element for its bias.
 */
/** The official `conv_flops`: MACs per output position times positions, plus one op per output for the bias. */
export function convFlops(k: number, cin: number, cout: number, stride: number, pad: number, h: number, w: number, groups = 1, bias = true): number {
  const oh = Math.floor((h + 2 * pad - (k - 1) - 1) / stride + 1);
  const ow = Math.floor((w + 2 * pad - (k - 1) - 1) / stride + 1);
  const positions = oh * ow;
  return k * k * cin * Math.floor(cout / groups) * positions + (bias ? cout * positions : 0);
}

