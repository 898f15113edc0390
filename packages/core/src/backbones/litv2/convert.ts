import * as tf from '@tensorflow/tfjs';
import type { Module, StateDict } from '../../nn/module';
import { loadStateDictFile } from '../../checkpoint/state-dict-file';
import { saveCheckpoint } from '../../checkpoint/checkpoint';
import { LITv2 } from './classifier';
import { LITv2Backbone } from './backbone';
import { litv2Preset, type LITv2Size } from './presets';
import type { LITv2ArchConfig } from './base';

export interface ConvertOptions {
  input: string;
  output: string;
  size: LITv2Size;
  /** Which model the keys are checked against: classifier, or the det/seg dense backbone. */
  variant: 'cls' | 'det' | 'seg';
  /** Keep only keys with this prefix and strip it; default: 'backbone.' when the input is a whole detector/segmentor and variant is det/seg. */
  prefix?: string;
  numClasses?: number;
  /** Architecture overrides on top of the size preset (e.g. a smaller test model). */
  arch?: Partial<LITv2ArchConfig>;
}

export interface ConvertReport {
  input: string;
  output: string;
  prefix?: string;
  /** Keys written (present in both the checkpoint and the model). */
  converted: number;
  /** Model keys the checkpoint lacks (they keep their initial values when loaded). */
  missingKeys: string[];
  /** Checkpoint keys the model does not have (dropped). */
  unexpectedKeys: string[];
}

function buildTarget(o: ConvertOptions): Module {
  const arch = { ...litv2Preset(o.size), ...o.arch };
  if (o.variant === 'cls') return new LITv2({ ...arch, num_classes: o.numClasses ?? 1000 }, { init: false });
  return new LITv2Backbone({ ...arch, variant: o.variant }, { init: false });
}

/**
 * Official LITv2 `.pth` -> our checkpoint format. Shapes are validated against the chosen model (by loading
 * into it); only keys the model has are written, in PyTorch layout, so the result loads with `strict`.
 */
export async function convertLITv2Checkpoint(o: ConvertOptions): Promise<ConvertReport> {
  const model = buildTarget(o);
  try {
    const spec = model.stateDictSpec();
    let prefix = o.prefix;
    let dict: StateDict = await loadStateDictFile(o.input, { prefix });
    if (!prefix && o.variant !== 'cls' && !Object.keys(dict).some((k) => k in spec) && Object.keys(dict).some((k) => k.startsWith('backbone.'))) {
      tf.dispose(Object.values(dict));
      prefix = 'backbone.';
      dict = await loadStateDictFile(o.input, { prefix });
    }
    try {
      const { missingKeys, unexpectedKeys } = model.loadStateDict(dict, { strict: false });
      const kept: StateDict = {};
      for (const k of Object.keys(spec)) if (dict[k]) kept[k] = dict[k];
      await saveCheckpoint(o.output, {
        model: kept,
        meta: { source: o.input, converted_by: 'convertLITv2Checkpoint', model: `litv2_${o.size}`, variant: o.variant, prefix: prefix ?? null, missing_keys: missingKeys, unexpected_keys: unexpectedKeys },
      });
      return { input: o.input, output: o.output, prefix, converted: Object.keys(kept).length, missingKeys, unexpectedKeys };
    } finally {
      tf.dispose(Object.values(dict));
    }
  } finally {
    model.dispose();
  }
}
