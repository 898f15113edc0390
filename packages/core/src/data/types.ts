/**
 * Types of the data pipeline shared by every task: a `Sample` flows through `Transform`s (host-side typed
 * arrays, no tensors), a `Dataset` yields transformed samples, and `collate` turns a list of samples into a
 * `Batch` whose tensors are created only when the batch is consumed.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng';

/** An HWC image in host memory: uint8 straight from the decoder, float32 after `Normalize`. */
export interface HostImage {
  data: Uint8Array | Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** A single-channel label map (semantic segmentation), values 0..255 (255 = ignore). */
export interface LabelMap {
  data: Uint8Array;
  height: number;
  width: number;
}

/** mmdet/mmseg `img_metas` bookkeeping, filled in by the shared transforms. Shapes are [h, w, c]. */
export interface ImageMeta {
  filename: string;
  ori_filename: string;
  /** Shape of the decoded image. */
  ori_shape: [number, number, number];
  /** Shape after Resize (before Pad): the valid region of the padded image. */
  img_shape: [number, number, number];
  /** Shape after Pad (equal to img_shape when not padded). */
  pad_shape: [number, number, number];
  /** [w_scale, h_scale, w_scale, h_scale] as mmdet: new_size / original_size per axis. */
  scale_factor: [number, number, number, number];
  /** Scale actually used by Resize ([long, short] target, mmdet `scale`), if any. */
  scale?: [number, number];
  keep_ratio?: boolean;
  flip: boolean;
  flip_direction?: 'horizontal' | 'vertical' | 'diagonal';
  img_norm_cfg?: { mean: number[]; std: number[]; to_rgb: boolean };
}

/** Where a sample comes from, as a dataset describes it before any transform runs. */
export interface SampleInfo {
  /** Index in the dataset (used in error messages and for per-sample seeds). */
  index: number;
  /** Image file (absolute or relative to `imgPrefix`). */
  filename: string;
  imgPrefix?: string;
  height?: number;
  width?: number;
  /** Box annotations (detection): x1y1x2y2 pixel boxes [n*4], contiguous labels [n], crowd/ignored boxes. */
  ann?: {
    bboxes: Float32Array;
    labels: Int32Array;
    bboxesIgnore?: Float32Array;
    /** Per-instance polygons (COCO `segmentation`), each a list of flat [x0,y0,x1,y1,...] rings. */
    masks?: number[][][];
    /** Annotation ids, for error messages. */
    ids?: number[];
  };
  /** Label PNG of a semantic-segmentation sample (absolute or relative to `segPrefix`). */
  segMap?: string;
  segPrefix?: string;
  /** Dataset-specific payload. */
  extra?: Record<string, unknown>;
}

/** One training/testing example as it moves through the pipeline. */
export interface Sample {
  info: SampleInfo;
  meta: ImageMeta;
  img?: HostImage;
  /** [n*4] x1y1x2y2 boxes in the current image frame (scaled/flipped by the shared transforms). */
  gt_bboxes?: Float32Array;
  gt_labels?: Int32Array;
  gt_bboxes_ignore?: Float32Array;
  /** Per-instance polygons in the current image frame (scaled/flipped like boxes). */
  gt_masks?: number[][][];
  gt_semantic_seg?: LabelMap;
  /** Task-specific fields; transforms update them through `registerFieldHandler`. */
  extra: Record<string, unknown>;
  /** Per-sample random stream (seeded from loader seed, epoch and index), so prefetching stays deterministic. */
  rng: Rng;
}

/**
 * A pipeline step registered in `TRANSFORMS` by its mmdet/mmseg type name. Returning `null` drops the sample
 * (as mmdet's `None`); throwing reports a bad sample (the DataLoader names the file).
 */
export interface Transform {
  readonly type: string;
  apply(sample: Sample): Sample | null | Promise<Sample | null>;
}

/** Random-access collection of samples. `get` runs the pipeline (async: image decoding). */
export interface Dataset {
  readonly length: number;
  /** Class names, index = contiguous label. */
  readonly classes: readonly string[];
  /** Raw description of sample i (no I/O). */
  info(i: number): SampleInfo;
  /** Loads and transforms sample i; `rng` drives the random transforms. `null` = dropped by the pipeline. */
  get(i: number, rng: Rng): Promise<Sample | null>;
  /** Optional aspect-ratio group per sample (mmdet GroupSampler flag: 1 if w/h > 1). */
  groupFlags?(): Uint8Array;
}

/** A collated batch. `imgs` is NHWC float32 padded to the largest image (pad value 0). Owned by the consumer. */
export interface Batch {
  imgs: tf.Tensor4D;
  metas: ImageMeta[];
  samples: Sample[];
  /** [N, H, W] int32 label maps padded with 255, when the samples carry `gt_semantic_seg`. */
  gt_semantic_seg?: tf.Tensor3D;
}

/** Turns prepared samples into a batch (creates the tensors). */
export type CollateFn<B extends Batch = Batch> = (samples: Sample[]) => B;
