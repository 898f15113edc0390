import * as fs from 'fs';
import type { StateDict } from '../nn/module';
import { CHECKPOINT_FORMAT, isSafetensorsFile, readSafetensors, torchTensorToTf } from './checkpoint';
import { readPth } from './pth';
import { TorchTensor } from './torch-tensor';

export interface LoadStateDictFileOptions {
  /** Keep only keys starting with this (e.g. 'backbone.') and strip it. */
  prefix?: string;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof TorchTensor) && !ArrayBuffer.isView(v);
}

/** The weights inside a torch checkpoint: `state_dict`, `model`, or the dict itself (as mmcv/timm do). */
function unwrapTorch(obj: unknown, file: string): Map<string, TorchTensor> {
  if (!isDict(obj)) throw new Error(`${file}: expected a dict of tensors, found ${Array.isArray(obj) ? 'a list' : typeof obj}`);
  let dict: Record<string, unknown> = obj;
  if (isDict(obj.state_dict)) dict = obj.state_dict;
  else if (isDict(obj.model)) dict = obj.model;
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of Object.entries(dict)) if (v instanceof TorchTensor) out.set(k, v);
  if (out.size === 0) throw new Error(`${file}: no tensors found (top-level keys: ${Object.keys(obj).join(', ')})`);
  return out;
}

/**
 * Loads model weights from a PyTorch `.pth` (unwrapping `state_dict`/`model`, stripping `module.`), from our
 * checkpoint format, or from a plain safetensors file. Returns float32 tf tensors (int64 entries such as
 * `num_batches_tracked` become float32) in PyTorch layout, ready for `Module.loadStateDict`; caller disposes.
 */
export async function loadStateDictFile(file: string, opts: LoadStateDictFileOptions = {}): Promise<StateDict> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  let tensors: Map<string, TorchTensor>;
  if (isSafetensorsFile(file)) {
    const st = readSafetensors(file);
    tensors = new Map();
    const ours = st.metadata.format === CHECKPOINT_FORMAT;
    for (const [k, t] of st.tensors) {
      if (!ours) tensors.set(k, t);
      else if (k.startsWith('model.')) tensors.set(k.slice(6), t);
    }
  } else {
    tensors = unwrapTorch(readPth(file, { lazy: true }), file); // only the tensors kept below are read
  }
  const renamed = new Map<string, TorchTensor>();
  for (const [k, t] of tensors) renamed.set(k.startsWith('module.') ? k.slice(7) : k, t);
  const out: StateDict = {};
  const prefix = opts.prefix;
  for (const [k, t] of renamed) {
    if (prefix && !k.startsWith(prefix)) continue;
    const key = prefix ? k.slice(prefix.length) : k;
    const tt = torchTensorToTf(t);
    out[key] = tt.dtype === 'float32' ? tt : tt.toFloat();
    if (out[key] !== tt) tt.dispose();
  }
  if (prefix && Object.keys(out).length === 0) {
    const sample = [...renamed.keys()].slice(0, 3).join(', ');
    throw new Error(`${file}: no weights start with '${prefix}' (keys look like: ${sample}, ...)`);
  }
  return out;
}
