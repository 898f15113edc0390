import * as tf from '@tensorflow/tfjs';
import { ConfigError, BBOX_CODERS, type ConfigNode, type ConfigOrigin } from '@litv2/core';
import { columns } from '../../structures/columns';

export interface DeltaXYWHCoderConfig {
  type?: 'DeltaXYWHBBoxCoder';
  target_means?: number[];
  target_stds?: number[];
  clip_border?: boolean;
}

/** Per-image [h, w] (extra channels ignored) the decoded boxes are clamped to. */
export type MaxShape = number[] | number[][];

/**
 * mmdet 2.11 `DeltaXYWHBBoxCoder`. No +1 anywhere (w = x2 - x1, centre = (x1 + x2)·0.5). Decoding applies
 * stds/means, clamps dw/dh to ±|log(wh_ratio_clip)| and clamps boxes to [0, W] × [0, H] of `max_shape`.
 * Works on (N, 4) or batched (B, N, 4) tensors.
 */
export class DeltaXYWHBBoxCoder {
  readonly means: [number, number, number, number];
  readonly stds: [number, number, number, number];
  readonly clipBorder: boolean;
  constructor(cfg: DeltaXYWHCoderConfig = {}, origin: ConfigOrigin = { path: 'bbox_coder' }) {
    const m = cfg.target_means ?? [0, 0, 0, 0];
    const s = cfg.target_stds ?? [1, 1, 1, 1];
    if (m.length !== 4) throw new ConfigError(`target_means must have 4 numbers`, { ...origin, path: `${origin.path}.target_means` });
    if (s.length !== 4 || s.some((v) => !(v > 0))) throw new ConfigError(`target_stds must have 4 positive numbers`, { ...origin, path: `${origin.path}.target_stds` });
    this.means = [m[0], m[1], m[2], m[3]];
    this.stds = [s[0], s[1], s[2], s[3]];
    this.clipBorder = cfg.clip_border ?? true;
  }

  /** Deltas that turn `bboxes` into `gtBboxes` (same leading shape). */
  encode(bboxes: tf.Tensor, gtBboxes: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [px1, py1, px2, py2] = columns(bboxes, 4);
      const [gx1, gy1, gx2, gy2] = columns(gtBboxes, 4);
      const px = px1.add(px2).mul(0.5);
      const py = py1.add(py2).mul(0.5);
      const pw = px2.sub(px1);
      const ph = py2.sub(py1);
      const gx = gx1.add(gx2).mul(0.5);
      const gy = gy1.add(gy2).mul(0.5);
      const gw = gx2.sub(gx1);
      const gh = gy2.sub(gy1);
      const dx = gx.sub(px).div(pw);
      const dy = gy.sub(py).div(ph);
      const dw = tf.log(gw.div(pw));
      const dh = tf.log(gh.div(ph));
      const deltas = tf.stack([dx, dy, dw, dh], -1);
      return deltas.sub(tf.tensor1d(this.means)).div(tf.tensor1d(this.stds));
    });
  }

  /**
   * Boxes from `rois` and `deltas` ((N,4) or (B,N,4)); `maxShape` [h, w] (or one per image for the batched
   * form) clamps the result when clip_border is set.
   */
  decode(rois: tf.Tensor, deltas: tf.Tensor, maxShape?: MaxShape | null, whRatioClip = 16 / 1000): tf.Tensor {
    return tf.tidy(() => {
      const d = deltas.mul(tf.tensor1d(this.stds)).add(tf.tensor1d(this.means));
      const [dx, dy, dw0, dh0] = columns(d, 4);
      const maxRatio = Math.abs(Math.log(whRatioClip));
      const dw = dw0.clipByValue(-maxRatio, maxRatio);
      const dh = dh0.clipByValue(-maxRatio, maxRatio);
      const [x1, y1, x2, y2] = columns(rois, 4);
      const px = x1.add(x2).mul(0.5);
      const py = y1.add(y2).mul(0.5);
      const pw = x2.sub(x1);
      const ph = y2.sub(y1);
      const gw = pw.mul(tf.exp(dw));
      const gh = ph.mul(tf.exp(dh));
      const gx = px.add(pw.mul(dx));
      const gy = py.add(ph.mul(dy));
      let boxes = tf.stack([gx.sub(gw.mul(0.5)), gy.sub(gh.mul(0.5)), gx.add(gw.mul(0.5)), gy.add(gh.mul(0.5))], -1);
      if (this.clipBorder && maxShape) {
        const batched = Array.isArray(maxShape[0]);
        let maxXY: tf.Tensor;
        if (batched) {
          const shapes = maxShape as number[][];
          if (boxes.rank !== 3 || boxes.shape[0] !== shapes.length) throw new Error(`decode: ${shapes.length} max_shapes for boxes of shape [${boxes.shape}]`);
          maxXY = tf.tensor3d(shapes.map((s) => [[s[1], s[0], s[1], s[0]]]));
        } else {
          const s = maxShape as number[];
          maxXY = tf.tensor1d([s[1], s[0], s[1], s[0]]);
        }
        boxes = tf.minimum(tf.maximum(boxes, 0), maxXY);
      }
      return boxes;
    });
  }
}

BBOX_CODERS.register('DeltaXYWHBBoxCoder', {
  defaults: { target_means: [0, 0, 0, 0], target_stds: [1, 1, 1, 1], clip_border: true } as ConfigNode,
  build: (cfg, _ctx, origin) => new DeltaXYWHBBoxCoder(cfg as DeltaXYWHCoderConfig, origin),
});
