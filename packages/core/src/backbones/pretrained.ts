import * as tf from '@tensorflow/tfjs';
import type { LoadResult, Module, StateDict } from '../nn/module';
import { checkpointFileAccess } from '../checkpoint/file_access';

export interface LoadPretrainedOptions {
  /** Keep only keys with this prefix and strip it (e.g. 'backbone.' of an mmdet/mmseg checkpoint). */
  prefix?: string;
  /** Throw on missing/unexpected keys (default false, like mmdet's pretrained loading). */
  strict?: boolean;
}

/**
 * Loads weights into `model` from an official `.pth` (classification `{'model': ...}`, mmdet/mmseg
 * `{'state_dict': ...}`, bare state_dict; `module.` stripped) or from our checkpoint format.
 * Without an explicit prefix, a checkpoint whose keys only match after removing `backbone.` (a whole
 * detector/segmentor) is loaded through that prefix. Returns the missing/unexpected key report.
 */
export async function loadPretrained(model: Module, file: string, opts: LoadPretrainedOptions = {}): Promise<LoadResult & { prefix?: string }> {
  let dict: StateDict = await checkpointFileAccess().readStateDict(file, { prefix: opts.prefix });
  let prefix = opts.prefix;
  const known = new Set(Object.keys(model.stateDictSpec()));
  const direct = Object.keys(dict).filter((k) => known.has(k)).length;
  if (!prefix && direct === 0) {
    const viaBackbone = Object.keys(dict).filter((k) => k.startsWith('backbone.') && known.has(k.slice(9)));
    if (viaBackbone.length > 0) {
      prefix = 'backbone.';
      const stripped: StateDict = {};
      for (const [k, t] of Object.entries(dict)) {
        if (k.startsWith(prefix)) stripped[k.slice(prefix.length)] = t;
        else t.dispose();
      }
      dict = stripped;
    }
  }
  try {
    const r = model.loadStateDict(dict, { strict: opts.strict ?? false });
    return { ...r, prefix };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(dict));
  }
}
