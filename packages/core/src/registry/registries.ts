import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../nn/module';
import { ConfigError, Registry, type ConfigNode, type ConfigOrigin } from './registry';
import type { Dataset } from '../data/types';
import type { Optimizer } from '../engine/optimizer';
import type { LrSchedule } from '../engine/lr_schedule';
import type { TransformContext } from '../data/pipeline';
import type { Transform } from '../data/types';

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

/** What a dataset builder gets besides its config node. */
export interface DatasetBuildContext {
  /** Relative `data_root` / `ann_file` paths resolve against this (the repository root). */
  repoRoot: string;
  /** Log and drop invalid samples instead of stopping. */
  skipBadSamples?: boolean;
  log?: (line: string) => void;
  /** Training split (mmdet drops images without usable annotations there). */
  train: boolean;
}

/** What an optimizer builder gets: the model whose parameters it updates. */
export interface OptimizerBuildContext {
  model: Module;
}

/**
 * Every registry of the framework, one per kind (mmdet 2.x style). Each type registers itself at the end of
 * the file that defines it; whole models are built by their `…FromConfig` parser, which builds its children
 * through these registries, so an unknown key at any depth is an error naming the file and the dotted key.
 * Task-specific kinds hold `object` / `Module`: the parent that builds a child checks that it got the kind of
 * child it can use (e.g. a classification loss for `loss_cls`), with a ConfigError naming the key.
 */
export const BACKBONES = new Registry<Backbone>('backbone');
export const NECKS = new Registry<Neck>('neck');
/** Dense heads (RetinaHead, RPNHead), RoI heads and decode heads (FPNHead). */
export const HEADS = new Registry<Module>('head');
export const DETECTORS = new Registry<Module>('detector');
export const SEGMENTORS = new Registry<Module>('segmentor');
export const LOSSES = new Registry<object>('loss');
export const BBOX_ASSIGNERS = new Registry<object>('bbox assigner');
export const BBOX_SAMPLERS = new Registry<object>('bbox sampler');
export const BBOX_CODERS = new Registry<object>('bbox coder');
export const PRIOR_GENERATORS = new Registry<object>('prior generator');
export const ROI_EXTRACTORS = new Registry<object>('roi extractor');
export const DATASETS = new Registry<Dataset, DatasetBuildContext>('dataset');
/** What a classification dataset builder gets (it may generate the synthetic set, hence async). */
export interface ClsDatasetBuildContext {
  repoRoot: string;
  log: (line: string) => void;
}
/** Whole-image classification datasets (ImageFolder); their builders are async (first-use generation). */
export const CLS_DATASETS = new Registry<Promise<Dataset>, ClsDatasetBuildContext>('classification dataset');
export const OPTIMIZERS = new Registry<Optimizer, OptimizerBuildContext>('optimizer');
/** mmcv `lr_config`: the type key is `policy`; the base lr comes from the optimizer. */
export const LR_SCHEDULES = new Registry<LrSchedule, { baseLr: number }>('lr policy', 'policy');
/** `custom_hooks` entries (engine Hooks; typed `object` so this universal file stays off the node-only runner). */
export const HOOKS = new Registry<object>('hook');
export const TRANSFORMS = new Registry<Transform, TransformContext | undefined>('transform');

/**
 * Builds a child through `registry` and checks it is one of the classes the parent can use, so a loss of the
 * wrong kind in `loss_bbox` is a ConfigError at that key rather than a failure deep in training.
 */
export function buildChild<T extends object, X>(
  registry: Registry<object, X> | Registry<Module, X>,
  cfg: unknown,
  origin: ConfigOrigin,
  accepted: readonly (abstract new (...args: never[]) => T)[],
  ctx?: X,
): T {
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new ConfigError(`expected a mapping with a 'type'`, origin);
  const built = (registry as Registry<object, X>).build(cfg as ConfigNode, ctx, origin);
  if (!accepted.some((c) => built instanceof c)) {
    throw new ConfigError(`${String((cfg as ConfigNode).type)} cannot be used here (expected ${accepted.map((c) => c.name).join(' or ')})`, { ...origin, path: `${origin.path}.type` });
  }
  return built as T;
}

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
