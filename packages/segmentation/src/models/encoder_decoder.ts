import * as tf from '@tensorflow/tfjs';
import { BACKBONES, ConfigError, HEADS, validateKeys, LITv2Backbone, Module, NECKS, SEGMENTORS, type Backbone, type Batch, type ConfigNode, type ConfigOrigin, type ImageMeta, type Neck, type TrainableModel } from '@litv2/core';
import { resizeBilinear } from '../ops/resize';
import { isDecodeHead, type DecodeHead } from './decode_head';
// Registers FPNHead in HEADS, so any importer of the segmentor can build Semantic FPN configs.
import './fpn_head';

/** mmseg `test_cfg`: 'whole' image inference, or 'slide' windows of `crop_size` every `stride` ([h, w]). */
export interface SegTestCfg {
  mode: 'whole' | 'slide';
  crop_size?: [number, number];
  stride?: [number, number];
}

/** Meta of one test image: what inference needs to undo the test-time resize (and flip). */
export type SegImageMeta = Pick<ImageMeta, 'ori_shape' | 'img_shape' | 'flip'> & Partial<Pick<ImageMeta, 'flip_direction'>>;

/**
 * mmseg EncoderDecoder: backbone → neck → decode head. Children are named `backbone`, `neck`, `decode_head`
 * so mmseg checkpoints (`decode_head.conv_seg.weight`, `neck.fpn_convs.0.conv.weight`, ...) load as they are.
 * Images are NHWC; logits and probabilities are NHWC as well.
 */
export class EncoderDecoder extends Module implements TrainableModel {
  readonly backbone: Backbone;
  readonly neck?: Neck;
  readonly decodeHead: DecodeHead;
  constructor(backbone: Backbone, neck: Neck | undefined, decodeHead: DecodeHead, readonly testCfg: SegTestCfg = { mode: 'whole' }) {
    super();
    this.backbone = this.addModule('backbone', backbone);
    if (neck) this.neck = this.addModule('neck', neck);
    this.decodeHead = this.addModule('decode_head', decodeHead);
    if (testCfg.mode === 'slide' && (!testCfg.crop_size || !testCfg.stride)) throw new ConfigError("test_cfg mode 'slide' needs crop_size and stride");
  }

  get numClasses(): number {
    return this.decodeHead.numClasses;
  }

  /** Backbone (+ neck) features, NHWC. */
  extractFeat(img: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const feats = this.backbone.forward(img);
      return this.neck ? this.neck.forward(feats) : feats;
    });
  }

  /** Logits resized (bilinear) to the input size, mmseg `encode_decode`. */
  encodeDecode(img: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => resizeBilinear(this.decodeHead.forward(this.extractFeat(img)), [img.shape[1], img.shape[2]], this.decodeHead.alignCorners));
  }

  /**
   * Training losses for a collated batch (labels [N, H, W] int32, 255 = ignore). The head's logits are
   * upsampled to the label size inside `losses`. Names follow mmseg: `decode.loss_seg`, `decode.acc_seg`.
   */
  forwardTrain(batch: Batch): Record<string, tf.Scalar> {
    const labels = batch.gt_semantic_seg;
    if (!labels) throw new Error('EncoderDecoder.forwardTrain: the batch has no gt_semantic_seg (missing LoadAnnotations?)');
    const out = tf.tidy(() => {
      const logits = this.decodeHead.forward(this.extractFeat(batch.imgs));
      const l = this.decodeHead.losses(logits, labels);
      return [l.loss_seg, l.acc_seg];
    });
    return { 'decode.loss_seg': out[0] as tf.Scalar, 'decode.acc_seg': out[1] as tf.Scalar };
  }

  /** Whole-image logits at input size, or at `ori_shape` when `rescale` (mmseg `whole_inference`). */
  wholeInference(img: tf.Tensor4D, meta: SegImageMeta, rescale: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      const logits = this.encodeDecode(img);
      return rescale ? resizeBilinear(logits, [meta.ori_shape[0], meta.ori_shape[1]], this.decodeHead.alignCorners) : logits;
    });
  }

  /**
   * Sliding-window logits (mmseg `slide_inference`): windows of crop_size placed every stride, the last one
   * flush with the border; overlapping logits are averaged; then optionally resized to `ori_shape`.
   */
  slideInference(img: tf.Tensor4D, meta: SegImageMeta, rescale: boolean): tf.Tensor4D {
    const [hCrop, wCrop] = this.testCfg.crop_size!;
    const [hStride, wStride] = this.testCfg.stride!;
    const [b, hImg, wImg] = img.shape;
    const hGrids = Math.floor(Math.max(hImg - hCrop + hStride - 1, 0) / hStride) + 1;
    const wGrids = Math.floor(Math.max(wImg - wCrop + wStride - 1, 0) / wStride) + 1;
    let preds = tf.zeros([b, hImg, wImg, this.numClasses]) as tf.Tensor4D;
    const count = new Float32Array(hImg * wImg);
    for (let hi = 0; hi < hGrids; hi++) {
      for (let wi = 0; wi < wGrids; wi++) {
        const y2 = Math.min(hi * hStride + hCrop, hImg);
        const x2 = Math.min(wi * wStride + wCrop, wImg);
        const y1 = Math.max(y2 - hCrop, 0);
        const x1 = Math.max(x2 - wCrop, 0);
        const next = tf.tidy(() => {
          const crop = img.slice([0, y1, x1, 0], [b, y2 - y1, x2 - x1, img.shape[3]]);
          const padded = tf.pad(this.encodeDecode(crop), [[0, 0], [y1, hImg - y2], [x1, wImg - x2], [0, 0]]);
          return preds.add(padded) as tf.Tensor4D;
        });
        preds.dispose();
        preds = next;
        for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) count[y * wImg + x] += 1;
      }
    }
    const out = tf.tidy(() => {
      const avg = preds.div(tf.tensor(count, [1, hImg, wImg, 1])) as tf.Tensor4D;
      return rescale ? resizeBilinear(avg, [meta.ori_shape[0], meta.ori_shape[1]], this.decodeHead.alignCorners) : avg;
    });
    preds.dispose();
    return out;
  }

  /**
   * Class probabilities (softmax over the logits) for one image, at `ori_shape` when `rescale`; a flipped
   * test image is flipped back (mmseg `inference`).
   */
  inference(img: tf.Tensor4D, meta: SegImageMeta, rescale = true): tf.Tensor4D {
    if (img.shape[0] !== 1) throw new Error(`EncoderDecoder.inference: one image at a time (got a batch of ${img.shape[0]})`);
    return tf.tidy(() => {
      const logits = this.testCfg.mode === 'slide' ? this.slideInference(img, meta, rescale) : this.wholeInference(img, meta, rescale);
      let prob = tf.softmax(logits, -1) as tf.Tensor4D;
      if (meta.flip) {
        const dir = meta.flip_direction ?? 'horizontal';
        if (dir === 'horizontal') prob = tf.reverse(prob, 2);
        else if (dir === 'vertical') prob = tf.reverse(prob, 1);
        else throw new Error(`EncoderDecoder.inference: unsupported flip_direction '${dir}'`);
      }
      return prob;
    });
  }

  /** Label map (argmax of `inference`) as [H, W] int32, mmseg `simple_test`. */
  simpleTest(img: tf.Tensor4D, meta: SegImageMeta, rescale = true): tf.Tensor2D {
    return tf.tidy(() => tf.argMax(this.inference(img, meta, rescale), -1).squeeze([0]) as tf.Tensor2D);
  }
}


function parseTestCfg(node: unknown, origin: ConfigOrigin): SegTestCfg {
  const at = (k: string) => ({ ...origin, path: `${origin.path}.test_cfg${k ? `.${k}` : ''}` });
  if (node === null || node === undefined) return { mode: 'whole' };
  if (typeof node !== 'object' || Array.isArray(node)) throw new ConfigError('expected a mapping', at(''));
  const n = node as ConfigNode;
  validateKeys(n, { mode: 'string', crop_size: 'any', stride: 'any' }, at(''));
  const mode = n.mode ?? 'whole';
  if (mode !== 'whole' && mode !== 'slide') throw new ConfigError(`mode must be 'whole' or 'slide', got ${JSON.stringify(mode)}`, at('mode'));
  const pair = (k: 'crop_size' | 'stride'): [number, number] | undefined => {
    const v = n[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((e) => Number.isInteger(e) && e > 0)) throw new ConfigError(`expected [h, w] positive integers, got ${JSON.stringify(v)}`, at(k));
    return v as [number, number];
  };
  const cfg: SegTestCfg = { mode, crop_size: pair('crop_size'), stride: pair('stride') };
  if (mode === 'slide' && (!cfg.crop_size || !cfg.stride)) throw new ConfigError("mode 'slide' needs crop_size and stride", at('mode'));
  return cfg;
}

SEGMENTORS.register('EncoderDecoder', {
  defaults: {
    backbone: undefined as unknown,
    neck: null as unknown,
    decode_head: undefined as unknown,
    auxiliary_head: null as unknown,
    pretrained: null as unknown,
    train_cfg: {} as unknown,
    test_cfg: { mode: 'whole' } as unknown,
  },
  build: (cfg, _ctx, origin) => {
    const at = (k: string) => ({ ...origin, path: `${origin.path}.${k}` });
    if (cfg.auxiliary_head) throw new ConfigError('auxiliary heads are not implemented (Semantic FPN has none)', at('auxiliary_head'));
    if (cfg.train_cfg && Object.keys(cfg.train_cfg as ConfigNode).length) throw new ConfigError('train_cfg must be empty (no pixel sampler)', at('train_cfg'));
    const need = (k: string): ConfigNode => {
      const v = (cfg as ConfigNode)[k];
      if (!v || typeof v !== 'object') throw new ConfigError(`missing '${k}'`, at(k));
      return v as ConfigNode;
    };
    // mmseg 0.x `pretrained`: the backbone's ImageNet weights, i.e. its init_cfg (loaded when training starts).
    let backboneCfg = need('backbone');
    if (cfg.pretrained !== null && cfg.pretrained !== undefined) {
      if (typeof cfg.pretrained !== 'string') throw new ConfigError('pretrained must be a checkpoint path or null', at('pretrained'));
      if (backboneCfg.init_cfg) throw new ConfigError(`give either model.pretrained or backbone.init_cfg, not both`, at('pretrained'));
      backboneCfg = { ...backboneCfg, init_cfg: { type: 'Pretrained', checkpoint: cfg.pretrained } };
    }
    const backbone = BACKBONES.build(backboneCfg, undefined, at('backbone'));
    // The from-scratch hint of a missing file must name model.pretrained, the key that set it here.
    if (cfg.pretrained && backbone instanceof LITv2Backbone) backbone.initCfgKey = at('pretrained').path;
    const neck = cfg.neck ? NECKS.build(cfg.neck as ConfigNode, undefined, at('neck')) : undefined;
    const head = HEADS.build(need('decode_head'), undefined, at('decode_head'));
    if (!isDecodeHead(head)) throw new ConfigError(`${String(need('decode_head').type)} is not a decode head`, at('decode_head.type'));
    return new EncoderDecoder(backbone, neck, head, parseTestCfg(cfg.test_cfg, origin));
  },
});

/** Builds a segmentor from an mmseg `model` node through SEGMENTORS (typed: only EncoderDecoder is registered). */
export function segmentorFromConfig(node: ConfigNode, origin: ConfigOrigin = { path: 'model' }): EncoderDecoder {
  const m = SEGMENTORS.build(node, undefined, origin);
  if (!(m instanceof EncoderDecoder)) throw new ConfigError(`${String(node.type)} is not an EncoderDecoder`, { ...origin, path: `${origin.path}.type` });
  return m;
}
