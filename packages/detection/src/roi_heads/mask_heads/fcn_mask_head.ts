import * as tf from '@tensorflow/tfjs';
import { ConfigError, Conv2d, ConvModule, kaimingNormalFanOut, Module, ModuleList, roiAlign, setParam, type ConfigOrigin } from '@litv2/core';
import type { BinaryMask } from '@litv2/cocoapi';

const f32 = Math.fround;

export interface FCNMaskHeadConfig {
  type?: 'FCNMaskHead';
  num_convs?: number;
  in_channels: number;
  conv_out_channels?: number;
  conv_kernel_size?: number;
  roi_feat_size?: number;
  num_classes: number;
  upsample_cfg?: { type: 'deconv'; scale_factor?: number };
  class_agnostic?: boolean;
  loss_mask?: { type?: 'CrossEntropyLoss'; use_mask?: boolean; loss_weight?: number };
}

/** A bare module holding the parameters of a PyTorch child we compute inline (`upsample` ConvTranspose2d). */
class ParamHolder extends Module {
  register(name: string, value: tf.Tensor): tf.Variable {
    return this.addParameter(name, value);
  }
}

/**
 * mmdet 2.11 `FCNMaskHead`: `num_convs` 3×3 conv+ReLU (`convs.i.conv`), a 2×2 stride-2 transposed conv
 * (`upsample`, PyTorch weight [in, out, 2, 2]) + ReLU, and a 1×1 `conv_logits` with one mask per class.
 * Input [R, 14, 14, C] NHWC, output logits [R, 28, 28, numClasses].
 */
export class FCNMaskHead extends Module {
  readonly numClasses: number;
  readonly convs: ModuleList<ConvModule>;
  /** ConvTranspose2d weight in PyTorch layout [in, out, 2, 2]. */
  readonly upsampleWeight: tf.Variable;
  readonly upsampleBias: tf.Variable;
  readonly convLogits: Conv2d;
  readonly lossWeight: number;
  readonly convOut: number;

  constructor(cfg: FCNMaskHeadConfig, origin: ConfigOrigin = { path: 'model.roi_head.mask_head' }) {
    super();
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'FCNMaskHead') !== 'FCNMaskHead') throw new ConfigError(`type '${cfg.type}' is not supported (FCNMaskHead)`, at('type'));
    if (!Number.isInteger(cfg.num_classes) || cfg.num_classes <= 0) throw new ConfigError(`num_classes must be a positive integer, got ${cfg.num_classes}`, at('num_classes'));
    if (cfg.upsample_cfg && (cfg.upsample_cfg.type !== 'deconv' || (cfg.upsample_cfg.scale_factor ?? 2) !== 2)) throw new ConfigError(`only upsample_cfg {type: deconv, scale_factor: 2} is supported`, at('upsample_cfg'));
    if (cfg.class_agnostic) throw new ConfigError(`class_agnostic masks are not supported`, at('class_agnostic'));
    if (cfg.loss_mask && (cfg.loss_mask.type ?? 'CrossEntropyLoss') !== 'CrossEntropyLoss') throw new ConfigError(`loss_mask must be CrossEntropyLoss with use_mask`, at('loss_mask.type'));
    const k = cfg.conv_kernel_size ?? 3;
    this.numClasses = cfg.num_classes;
    this.convOut = cfg.conv_out_channels ?? 256;
    const n = cfg.num_convs ?? 4;
    const convs: ConvModule[] = [];
    for (let i = 0; i < n; i++) convs.push(new ConvModule(i === 0 ? cfg.in_channels : this.convOut, this.convOut, k, { padding: (k - 1) / 2 }));
    this.convs = this.addModule('convs', new ModuleList(convs));
    const upIn = n > 0 ? this.convOut : cfg.in_channels;
    // mmdet init: kaiming normal (fan_out, relu) for upsample and conv_logits, zero biases.
    const up = this.addModule('upsample', new ParamHolder());
    this.upsampleWeight = up.register('weight', kaimingNormalFanOut([upIn, this.convOut, 2, 2], this.convOut * 4));
    this.upsampleBias = up.register('bias', tf.zeros([this.convOut]));
    this.convLogits = this.addModule('conv_logits', new Conv2d(this.convOut, this.numClasses, 1));
    setParam(this.convLogits.weight, kaimingNormalFanOut(this.convLogits.weight.shape, this.numClasses));
    if (this.convLogits.bias) setParam(this.convLogits.bias, tf.zeros(this.convLogits.bias.shape));
    this.lossWeight = cfg.loss_mask?.loss_weight ?? 1;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h: tf.Tensor4D = x;
      for (const c of this.convs.items) h = c.forward(h) as tf.Tensor4D;
      const [R, H, W, Cin] = h.shape;
      const Co = this.convOut;
      // 2×2 stride-2 deconv has no overlapping taps: one matmul to (R,H,W,2,2,Co), then interleave to 2H×2W.
      const w = tf.reshape(tf.transpose(this.upsampleWeight, [0, 2, 3, 1]), [Cin, 4 * Co]);
      let up = tf.matMul(tf.reshape(h, [R * H * W, Cin]), w);
      up = tf.reshape(tf.transpose(tf.reshape(up, [R, H, W, 2, 2, Co]), [0, 1, 3, 2, 4, 5]), [R, 2 * H, 2 * W, Co]);
      up = tf.relu(tf.add(up, this.upsampleBias));
      return this.convLogits.forward(up as tf.Tensor4D) as tf.Tensor4D;
    });
  }

  /** mmdet `mask_cross_entropy`: BCE-with-logits of each roi's gt-class mask, mean over all pixels, × loss_weight. */
  loss(maskPred: tf.Tensor4D, maskTargets: tf.Tensor3D, labels: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const [R, H, W, C] = maskPred.shape;
      if (R === 0) return tf.mul(tf.sum(maskPred), 0) as tf.Scalar;
      const rows = tf.tensor1d(Array.from(labels, (l, i) => i * C + l), 'int32');
      const picked = tf.gather(tf.reshape(tf.transpose(maskPred, [0, 3, 1, 2]), [R * C, H * W]), rows);
      const t = tf.reshape(maskTargets, [R, H * W]);
      // max(x, 0) - x·t + log(1 + exp(-|x|)), the stable BCE-with-logits.
      const l = tf.add(tf.sub(tf.relu(picked), tf.mul(picked, t)), tf.log1p(tf.exp(tf.neg(tf.abs(picked)))));
      return tf.mul(tf.mean(l), this.lossWeight) as tf.Scalar;
    });
  }
}


/**
 * mmdet `mask_target` for one image: RoIAlign (28×28 by default, aligned, scale 1, adaptive sampling) of each
 * positive's assigned gt bitmap over the positive box clipped to [0, W] × [0, H] of the mask, then ≥ 0.5.
 * `gtMasks` [G, H, W] (0/1), `posBoxes` (P·4), returns [P, size, size] float 0/1.
 */
export function maskTargets(gtMasks: tf.Tensor3D, posBoxes: Float32Array, posAssignedGtInds: Int32Array, size = 28): tf.Tensor3D {
  const P = posAssignedGtInds.length;
  if (P === 0) return tf.zeros([0, size, size]);
  const [, H, W] = gtMasks.shape;
  const rois = new Float32Array(P * 5);
  for (let i = 0; i < P; i++) {
    rois[i * 5] = posAssignedGtInds[i];
    rois[i * 5 + 1] = Math.min(Math.max(posBoxes[i * 4], 0), W);
    rois[i * 5 + 2] = Math.min(Math.max(posBoxes[i * 4 + 1], 0), H);
    rois[i * 5 + 3] = Math.min(Math.max(posBoxes[i * 4 + 2], 0), W);
    rois[i * 5 + 4] = Math.min(Math.max(posBoxes[i * 4 + 3], 0), H);
  }
  return tf.tidy(() => {
    const feats = tf.expandDims(tf.cast(gtMasks, 'float32'), 3) as tf.Tensor4D;
    const out = roiAlign(feats, rois, { outputSize: size, spatialScale: 1, samplingRatio: 0, aligned: true });
    return tf.cast(tf.greaterEqual(tf.squeeze(out, [3]), 0.5), 'float32') as tf.Tensor3D;
  });
}

/**
 * grid_sample (bilinear, zeros padding, align_corners False) weights along one axis for mmdet `_do_paste_mask`:
 * output pixel p (centre p + .5) maps to g = (p + .5 - b0)/(b1 - b0)·2 - 1, then to source index
 * ((g + 1)·size - 1)/2. Returns (out × size) row-major weights; float32 like torch.
 */
function pasteAxisWeights(b0: number, b1: number, out: number, size: number): Float32Array {
  const w = new Float32Array(out * size);
  const span = f32(b1 - b0);
  for (let p = 0; p < out; p++) {
    let g = f32(f32(f32(f32(p + 0.5) - b0) / span) * 2);
    g = f32(g - 1);
    if (!Number.isFinite(g)) {
      if (Number.isNaN(g)) continue; // 0/0: torch gives NaN, grid_sample then yields 0 on CPU
      g = 0; // mmdet replaces ±inf (zero-size box) by 0
    }
    const s = f32(f32(f32(f32(g + 1) * size) - 1) / 2);
    const lo = Math.floor(s);
    const frac = f32(s - lo);
    if (lo >= 0 && lo < size) w[p * size + lo] += f32(1 - frac);
    if (lo + 1 >= 0 && lo + 1 < size) w[p * size + lo + 1] += frac;
  }
  return w;
}

/**
 * mmdet `_do_paste_mask` (skip_empty False) for a batch of soft masks: `masks` [N, h, w] probabilities, `boxes`
 * (N·4) in output-image coordinates. Bilinear sampling is separable, so each paste is Wy · mask · Wxᵀ, one batched
 * matmul. Returns [N, imgH, imgW] probabilities.
 */
export function pasteMasks(masks: tf.Tensor3D, boxes: Float32Array, imgH: number, imgW: number): tf.Tensor3D {
  const [N, h, w] = masks.shape;
  if (N === 0) return tf.zeros([0, imgH, imgW]);
  const wy = new Float32Array(N * imgH * h);
  const wx = new Float32Array(N * imgW * w);
  for (let i = 0; i < N; i++) {
    wy.set(pasteAxisWeights(boxes[i * 4 + 1], boxes[i * 4 + 3], imgH, h), i * imgH * h);
    wx.set(pasteAxisWeights(boxes[i * 4], boxes[i * 4 + 2], imgW, w), i * imgW * w);
  }
  return tf.tidy(() => {
    const left = tf.matMul(tf.tensor3d(wy, [N, imgH, h]), masks);
    return tf.matMul(left, tf.tensor3d(wx, [N, imgW, w]), false, true) as tf.Tensor3D;
  });
}

/** Result of `getSegMasks`: one binary mask per detection (null where mmdet gives the det no mask). */
export interface SegMasks {
  masks: (BinaryMask | null)[];
  height: number;
  width: number;
}

/**
 * mmdet 2.11 `simple_test_mask` + `FCNMaskHead.get_seg_masks` for one image. `maskPred` [N, 28, 28, C] logits of
 * the mask rois, `detBboxes` (N·5) as returned by the bbox head (already divided by scale_factor when rescale).
 * Masks are pasted at ori_shape when rescale, else at round(ori·scale), and thresholded at `thr` (≥). A det whose
 * mask roi has y2 exactly 0 is dropped by mmdet's padding removal, so it gets no mask (null), as in the reference.
 */
export function getSegMasks(
  maskPred: tf.Tensor4D, detBboxes: Float32Array, detLabels: Int32Array, oriShape: number[], scaleFactor: number[],
  rescale: boolean, thr = 0.5,
): SegMasks {
  const N = detLabels.length;
  const sf = scaleFactor.slice(0, 4).map(f32);
  const [imgH, imgW] = rescale ? [oriShape[0], oriShape[1]] : [Math.round(oriShape[0] * sf[1]), Math.round(oriShape[1] * sf[0])];
  const keep: number[] = [];
  for (let i = 0; i < N; i++) {
    const y2 = rescale ? f32(detBboxes[i * 5 + 3] * sf[3]) : detBboxes[i * 5 + 3];
    if (y2 !== 0) keep.push(i);
  }
  const masks: (BinaryMask | null)[] = new Array(N).fill(null);
  if (keep.length === 0) return { masks, height: imgH, width: imgW };
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach((i, j) => {
    for (let k = 0; k < 4; k++) {
      // mmdet multiplies by scale_factor for the rois, then divides again before pasting.
      const v = rescale ? f32(f32(detBboxes[i * 5 + k] * sf[k]) / sf[k]) : detBboxes[i * 5 + k];
      boxes[j * 4 + k] = v;
    }
  });
  const binary = tf.tidy(() => {
    const [, mh, mw, C] = maskPred.shape;
    const rows = tf.tensor1d(keep.map((i) => i * C + detLabels[i]), 'int32');
    const soft = tf.sigmoid(tf.gather(tf.reshape(tf.transpose(maskPred, [0, 3, 1, 2]), [N * C, mh, mw]), rows)) as tf.Tensor3D;
    const pasted = pasteMasks(soft, boxes, imgH, imgW);
    // Column-major bytes for the COCO RLE encoder.
    return tf.cast(tf.greaterEqual(tf.transpose(pasted, [0, 2, 1]), thr), 'int32').dataSync();
  });
  const plane = imgH * imgW;
  keep.forEach((i, j) => {
    masks[i] = { h: imgH, w: imgW, data: Uint8Array.from(binary.subarray(j * plane, (j + 1) * plane)) };
  });
  return { masks, height: imgH, width: imgW };
}
