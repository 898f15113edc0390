import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module';
import { Registry } from './registry';

/** A backbone's analytic FLOPs on one input size, counted as its family's authors count them. */
export interface BackboneFlops {
  total: number;
  /** [h, w] of each returned map (same order as `outChannels`), for the neck's and heads' counts. */
  outSizes: [number, number][];
}

/** A feature extractor: NHWC image batch in, one NHWC map per `out_indices` entry out. */
export interface Backbone extends Module {
  /** Channels of each returned map. */
  readonly outChannels: number[];
  /** Strides (pixels) of each returned map relative to the input. */
  readonly outStrides: number[];
  forward(x: tf.Tensor4D): tf.Tensor4D[];
  /** FLOPs of one image of `inputHW` = [h, w] (complexity tables, benchmarks); no tensors are made. */
  flops(inputHW: [number, number]): BackboneFlops;
  /** mmdet `init_weights()`: loads `init_cfg` pretrained weights (if any); call once after building. */
  initWeights?(): Promise<unknown>;
}

/** Multi-scale maps in, multi-scale maps out (FPN and friends). */
export interface Neck extends Module {
  readonly outChannels: number;
  forward(feats: tf.Tensor4D[]): tf.Tensor4D[];
}

// One registry per kind. Task packages register their own types on import; `ctx` is unused for these.
export const BACKBONES = new Registry<Backbone>('backbone');
export const NECKS = new Registry<Neck>('neck');
