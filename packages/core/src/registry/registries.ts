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

/**
 * A backbone family in its ImageNet classification form (stem, stages, pooled features and, when
 * `numClasses > 0`, the linear head), with the official state-dict names so released classifiers load as is.
 * Input NHWC [B, imgSize, imgSize, 3], normalised with the ImageNet mean/std.
 */
export interface ClassificationNet extends Module {
  readonly numClasses: number;
  /** Width of the pooled features the head sees. */
  readonly featureDim: number;
  /** The input side the network is built for (classification models take one size). */
  readonly imgSize: number;
  /** Logits [B, numClasses] (pooled features when numClasses = 0). */
  forward(x: tf.Tensor4D): tf.Tensor2D;
  /** Analytic FLOPs of one image at `imgSize`, counted as the family's authors count them. */
  flops(): number;
}

/** Build context of CLS_BACKBONES: `init: false` skips the random init of a network whose weights follow. */
export interface ClassificationNetContext {
  init?: boolean;
}

/** Whole classification networks of the backbone families (LITv2, LeViT, EfficientViT), by `type`. */
export const CLS_BACKBONES = new Registry<ClassificationNet, ClassificationNetContext | undefined>('classification backbone');

/** A model that maps an image batch to class logits (what classification's task trains and evaluates). */
export interface Classifier extends Module {
  readonly numClasses: number;
  forward(x: tf.Tensor4D): tf.Tensor2D;
}

/** Classifiers (classification's `ImageClassifier`) by `type`. */
export const CLASSIFIERS = new Registry<Classifier>('classifier');
