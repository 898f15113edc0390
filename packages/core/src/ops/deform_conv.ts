import * as tf from '@tensorflow/tfjs';

type Pair = number | [number, number];
const pair = (v: Pair | undefined, d: number): [number, number] => (v === undefined ? [d, d] : Array.isArray(v) ? v : [v, v]);

export interface DeformConv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Convolution groups (input and output channels split into `groups` independent parts). */
  groups?: number;
  /** Offset groups: channels are split into this many parts, each with its own offsets. */
  deformableGroups?: number;
  bias?: tf.Tensor1D;
}

/** Output spatial size of a convolution, PyTorch rule. */
export function convOutSize(size: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

interface Corners {
  /** Row of the flattened [B·H·W·G, C/G] map for each corner, clamped into range (int32, [B·P·G]). */
  rows: tf.Tensor1D[];
  /** Inside-the-map masks per corner, [B, P, G] (0/1). */
  masks: tf.Tensor3D[];
  ly: tf.Tensor3D;
  lx: tf.Tensor3D;
}

/** Corner order: (y0, x0), (y0, x1), (y1, x0), (y1, x1). */
function corners(shape: number[], py: tf.Tensor3D, px: tf.Tensor3D): Corners {
  const [b, h, w] = shape;
  const g = py.shape[2];
  const y0 = py.floor();
  const x0 = px.floor();
  const inside = (v: tf.Tensor, size: number) => tf.mul(tf.greaterEqual(v, 0).cast('float32'), tf.greaterEqual(size - 1, v).cast('float32'));
  const base = tf.range(0, b, 1, 'float32').mul(h).reshape([b, 1, 1]);
  const gIdx = tf.range(0, g, 1, 'float32').reshape([1, 1, g]);
  const rowOf = (yy: tf.Tensor, xx: tf.Tensor) =>
    base.add(yy.clipByValue(0, h - 1)).mul(w).add(xx.clipByValue(0, w - 1)).mul(g).add(gIdx).cast('int32').reshape([-1]) as tf.Tensor1D;
  const y1 = y0.add(1);
  const x1 = x0.add(1);
  const my = [inside(y0, h), inside(y1, h)];
  const mx = [inside(x0, w), inside(x1, w)];
  return {
    rows: [rowOf(y0, x0), rowOf(y0, x1), rowOf(y1, x0), rowOf(y1, x1)],
    masks: [my[0].mul(mx[0]), my[0].mul(mx[1]), my[1].mul(mx[0]), my[1].mul(mx[1])] as tf.Tensor3D[],
    ly: py.sub(y0),
    lx: px.sub(x0),
  };
}

/**
 * Bilinear samples of `x` (NHWC) at fractional positions, DCNv1 rules: each of the four neighbours that lies
 * outside the map contributes zero and the weights are not renormalised (so a point on or beyond the
 * (-1, H) x (-1, W) border yields exactly 0).
 *
 * `py`, `px`: [B, P, G] positions (P sample points per image, G offset groups); returns [B, P, G, C/G].
 * A custom-gradient op: integer corner indices never enter autodiff (tfjs cannot differentiate through
 * int32 gather indices); gradients to x (scatter-add), py and px (bilinear slopes) are written out.
 */
export const bilinearSampleGrouped = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, py, px] = args as tf.Tensor[];
  const save = args[3] as tf.GradSaveFunc;
  const [b, h, w, c] = x.shape;
  const [, p, g] = py.shape;
  if (c % g) throw new Error(`deformConv2d: ${c} input channels are not divisible by ${g} deformable groups`);
  const cg = c / g;
  save([x, py, px]);
  const value = tf.tidy(() => {
    const flat = x.reshape([b * h * w * g, cg]);
    const k = corners(x.shape, py as tf.Tensor3D, px as tf.Tensor3D);
    const { ly, lx } = k;
    const hy = tf.sub(1, ly);
    const hx = tf.sub(1, lx);
    const wts = [hy.mul(hx), hy.mul(lx), ly.mul(hx), ly.mul(lx)];
    return tf.addN(k.rows.map((r, i) => tf.gather(flat, r).reshape([b, p, g, cg]).mul(wts[i].mul(k.masks[i]).expandDims(-1))));
  });
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [sx, spy, spx] = saved;
    return tf.tidy(() => {
      const flat = sx.reshape([b * h * w * g, cg]);
      const k = corners(sx.shape, spy as tf.Tensor3D, spx as tf.Tensor3D);
      const { ly, lx } = k;
      const hy = tf.sub(1, ly);
      const hx = tf.sub(1, lx);
      const wts = [hy.mul(hx), hy.mul(lx), ly.mul(hx), ly.mul(lx)].map((t, i) => t.mul(k.masks[i]));
      const dyFlat = dy.reshape([b * p * g, cg]);
      const dx = tf
        .addN(k.rows.map((r, i) => tf.unsortedSegmentSum(dyFlat.mul(wts[i].reshape([-1, 1])), r, b * h * w * g)))
        .reshape(sx.shape);
      // <dy, v> per corner, [B, P, G]; masked corners read a clamped (wrong) row, so mask them out.
      const dv = k.rows.map((r, i) => tf.gather(flat, r).mul(dyFlat).sum(-1).reshape([b, p, g]).mul(k.masks[i]));
      const dpy = tf.addN([dv[0].mul(hx).neg(), dv[1].mul(lx).neg(), dv[2].mul(hx), dv[3].mul(lx)]);
      const dpx = tf.addN([dv[0].mul(hy).neg(), dv[1].mul(hy), dv[2].mul(ly).neg(), dv[3].mul(ly)]);
      return [dx, dpy, dpx];
    });
  };
  return { value, gradFunc };
}) as (x: tf.Tensor4D, py: tf.Tensor3D, px: tf.Tensor3D) => tf.Tensor4D;

/**
 * Deformable convolution v1 (mmcv / torchvision `deform_conv2d` semantics) on NHWC tensors.
 *
 * - `x`: [B, H, W, C]
 * - `offset`: [B, Ho, Wo, 2·G·kh·kw], channels in PyTorch's order: for offset group g and kernel tap
 *   k = i·kw + j (row-major), channel 2·(g·kh·kw + k) is Δy and the next one Δx.
 * - `weight`: HWIO [kh, kw, C/groups, O] (PyTorch [O, C/groups, kh, kw] transposed, as `Conv2d` stores it).
 *
 * The sample for output (ho, wo) and tap (i, j) is taken at (ho·sh − ph + i·dh + Δy, wo·sw − pw + j·dw + Δx)
 * by bilinear interpolation with zeros outside; the taps are then contracted with the weight by one matmul.
 * Built from differentiable tfjs ops: gradients flow to `x`, `offset`, `weight` and `bias`.
 */
export function deformConv2d(x: tf.Tensor4D, offset: tf.Tensor4D, weight: tf.Tensor4D, opts: DeformConv2dOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = pair(opts.stride, 1);
    const [ph, pw] = pair(opts.padding, 0);
    const [dh, dw] = pair(opts.dilation, 1);
    const groups = opts.groups ?? 1;
    const dg = opts.deformableGroups ?? 1;
    const [b, h, w, c] = x.shape;
    const [kh, kw, cinG, cout] = weight.shape;
    const k = kh * kw;
    if (cinG * groups !== c) throw new Error(`deformConv2d: weight expects ${cinG}×${groups} input channels, input has ${c}`);
    if (cout % groups) throw new Error(`deformConv2d: ${cout} output channels are not divisible by groups=${groups}`);
    const ho = convOutSize(h, kh, sh, ph, dh);
    const wo = convOutSize(w, kw, sw, pw, dw);
    if (ho <= 0 || wo <= 0) throw new Error(`deformConv2d: input ${h}x${w} is too small for kernel ${kh}x${kw}`);
    const [ob, oh, ow, oc] = offset.shape;
    if (ob !== b || oh !== ho || ow !== wo || oc !== 2 * dg * k) {
      throw new Error(`deformConv2d: offset has shape [${offset.shape}], expected [${b}, ${ho}, ${wo}, ${2 * dg * k}]`);
    }
    // Regular grid positions per (ho, wo, tap): [1, Ho, Wo, K, 1].
    const gy = new Float32Array(ho * wo * k);
    const gx = new Float32Array(ho * wo * k);
    for (let a = 0; a < ho; a++)
      for (let bb = 0; bb < wo; bb++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const t = (a * wo + bb) * k + i * kw + j;
            gy[t] = a * sh - ph + i * dh;
            gx[t] = bb * sw - pw + j * dw;
          }
    // offsets [B, Ho, Wo, G, K, 2] -> [B, Ho, Wo, K, G, 2] so sampled columns come out tap-major, which
    // matches the HWIO weight flattened to [K·C, O].
    const off = offset.reshape([b, ho, wo, dg, k, 2]).transpose([0, 1, 2, 4, 3, 5]);
    // Split (dy, dx) through a rank-2 transpose: tfjs' CPU split/slice along the last axis of a rank-6 tensor
    // copies element by element with rank-6 index arithmetic (~25% of a small training step).
    const [dy, dx] = tf.unstack(off.reshape([-1, 2]).transpose([1, 0]), 0);
    const py = dy.reshape([b, ho, wo, k, dg]).add(tf.tensor(gy, [1, ho, wo, k, 1]));
    const px = dx.reshape([b, ho, wo, k, dg]).add(tf.tensor(gx, [1, ho, wo, k, 1]));
    const cols = bilinearSampleGrouped(x, py.reshape([b, ho * wo * k, dg]) as tf.Tensor3D, px.reshape([b, ho * wo * k, dg]) as tf.Tensor3D);
    let y: tf.Tensor;
    if (groups === 1) {
      y = tf.matMul(cols.reshape([b * ho * wo, k * c]), weight.reshape([k * c, cout]));
    } else {
      // [N, K, groups, C/groups] against [K, C/groups, O/groups] per group.
      const colsG = cols.reshape([b * ho * wo, k, groups, cinG]);
      const coutG = cout / groups;
      const parts: tf.Tensor[] = [];
      for (let gi = 0; gi < groups; gi++) {
        const cg = colsG.slice([0, 0, gi, 0], [-1, -1, 1, -1]).reshape([b * ho * wo, k * cinG]);
        const wg = weight.slice([0, 0, 0, gi * coutG], [-1, -1, -1, coutG]).reshape([k * cinG, coutG]);
        parts.push(tf.matMul(cg, wg));
      }
      y = tf.concat(parts, 1);
    }
    y = y.reshape([b, ho, wo, cout]);
    return (opts.bias ? y.add(opts.bias) : y) as tf.Tensor4D;
  });
}
