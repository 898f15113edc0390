import * as tf from '@tensorflow/tfjs';
import { ConfigError, multiLevelRoiAlign, type ConfigOrigin } from '@litv2/core';

export interface SingleRoIExtractorConfig {
  type?: 'SingleRoIExtractor';
  roi_layer: { type?: 'RoIAlign'; output_size: number; sampling_ratio?: number; aligned?: boolean; pool_mode?: 'avg' };
  out_channels: number;
  featmap_strides: number[];
  finest_scale?: number;
}

/**
 * mmdet `SingleRoIExtractor.map_roi_levels`: level = floor(log2(sqrt(w·h) / finest_scale + 1e-6)), clamped to
 * [0, numLevels - 1]. `rois` rows are (batch, x1, y1, x2, y2).
 */
export function mapRoiLevels(rois: Float32Array, numLevels: number, finestScale = 56): Int32Array {
  const R = rois.length / 5;
  const out = new Int32Array(R);
  for (let r = 0; r < R; r++) {
    // float32 like torch: the product and sqrt are rounded before the log.
    const area = Math.fround(Math.fround(rois[r * 5 + 3] - rois[r * 5 + 1]) * Math.fround(rois[r * 5 + 4] - rois[r * 5 + 2]));
    const scale = Math.fround(Math.sqrt(area));
    const lvl = Math.floor(Math.fround(Math.log2(Math.fround(Math.fround(scale / finestScale) + Math.fround(1e-6)))));
    out[r] = Math.min(Math.max(Number.isFinite(lvl) ? lvl : 0, 0), numLevels - 1);
  }
  return out;
}

/**
 * mmdet 2.11 `SingleRoIExtractor` with mmcv RoIAlign (avg, aligned, sampling_ratio 0 = adaptive): each roi is
 * pooled from the one pyramid level its size maps to, at 1/stride. Features are NHWC; output [R, out, out, C].
 * Uses the first `featmap_strides.length` levels of the neck output.
 */
export class SingleRoIExtractor {
  readonly outputSize: number;
  readonly samplingRatio: number;
  readonly aligned: boolean;
  readonly featmapStrides: number[];
  readonly finestScale: number;
  readonly outChannels: number;

  constructor(cfg: SingleRoIExtractorConfig, origin: ConfigOrigin = { path: 'roi_extractor' }) {
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'SingleRoIExtractor') !== 'SingleRoIExtractor') throw new ConfigError(`type '${cfg.type}' is not supported (SingleRoIExtractor)`, at('type'));
    const layer = cfg.roi_layer;
    if (!layer || (layer.type ?? 'RoIAlign') !== 'RoIAlign') throw new ConfigError(`roi_layer must be a RoIAlign`, at('roi_layer.type'));
    if ((layer.pool_mode ?? 'avg') !== 'avg') throw new ConfigError(`only pool_mode 'avg' is supported`, at('roi_layer.pool_mode'));
    if (!Number.isInteger(layer.output_size) || layer.output_size <= 0) throw new ConfigError(`output_size must be a positive integer`, at('roi_layer.output_size'));
    if (!Array.isArray(cfg.featmap_strides) || cfg.featmap_strides.length === 0 || cfg.featmap_strides.some((s) => !(s > 0))) {
      throw new ConfigError(`featmap_strides must be a non-empty list of positive numbers`, at('featmap_strides'));
    }
    this.outputSize = layer.output_size;
    this.samplingRatio = layer.sampling_ratio ?? 0;
    this.aligned = layer.aligned ?? true;
    this.featmapStrides = cfg.featmap_strides.slice();
    this.finestScale = cfg.finest_scale ?? 56;
    this.outChannels = cfg.out_channels;
  }

  get numInputs(): number {
    return this.featmapStrides.length;
  }

  /** `rois` (R·5) in input-image coordinates. */
  forward(feats: readonly tf.Tensor4D[], rois: Float32Array): tf.Tensor4D {
    if (feats.length < this.numInputs) throw new Error(`SingleRoIExtractor: ${feats.length} feature maps for ${this.numInputs} strides`);
    const used = feats.slice(0, this.numInputs);
    // mmdet pools everything from the only level when there is one, whatever the roi size.
    const levels = this.numInputs === 1 ? new Int32Array(rois.length / 5) : mapRoiLevels(rois, this.numInputs, this.finestScale);
    return multiLevelRoiAlign(used, rois, levels, this.featmapStrides.map((s) => 1 / s), {
      outputSize: this.outputSize, samplingRatio: this.samplingRatio, aligned: this.aligned,
    });
  }
}
