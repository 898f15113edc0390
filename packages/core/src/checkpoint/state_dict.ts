import type { StateDict } from '../nn/module';
import { parsePth } from './pth';
import { bytesSource, u64le } from './byte_source';
import { CHECKPOINT_FORMAT, parseSafetensors, torchTensorToTf, type SafetensorsFile } from './safetensors';
import { TorchTensor } from './torch-tensor';

export interface StateDictOptions {
  /** Keep only keys starting with this (e.g. 'backbone.') and strip it. */
  prefix?: string;
}

/** True when the first bytes (at least 9) look like a safetensors file (our checkpoint format included). */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const n = u64le(head, 0);
  return head[8] === 0x7b && n > 1n && n < 100_000_000n;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof TorchTensor) && !ArrayBuffer.isView(v);
}

/** The weights inside a torch checkpoint: `state_dict`, `model`, or the dict itself (as mmcv/timm do). */
export function unwrapTorch(obj: unknown, file: string): Map<string, TorchTensor> {
  if (!isDict(obj)) throw new Error(`${file}: expected a dict of tensors, found ${Array.isArray(obj) ? 'a list' : typeof obj}`);
  let dict: Record<string, unknown> = obj;
  if (isDict(obj.state_dict)) dict = obj.state_dict;
  else if (isDict(obj.model)) dict = obj.model;
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of Object.entries(dict)) if (v instanceof TorchTensor) out.set(k, v);
  if (out.size === 0) throw new Error(`${file}: no tensors found (top-level keys: ${Object.keys(obj).join(', ')})`);
  return out;
}

/** The model weights of parsed safetensors: all of them, or the `model.` part of our checkpoint format. */
export function safetensorsWeights(st: SafetensorsFile): Map<string, TorchTensor> {
  const tensors = new Map<string, TorchTensor>();
  const ours = st.metadata.format === CHECKPOINT_FORMAT;
  for (const [k, t] of st.tensors) {
    if (!ours) tensors.set(k, t);
    else if (k.startsWith('model.')) tensors.set(k.slice(6), t);
  }
  return tensors;
}

/**
 * Checkpoint tensors as a state dict: strips `module.`, keeps only keys under `opts.prefix` (stripped), and
 * returns float32 tf tensors (int64 entries such as `num_batches_tracked` become float32) in PyTorch layout,
 * ready for `Module.loadStateDict`; caller disposes. `file` names the source in errors.
 */
export function tensorsToStateDict(tensors: Map<string, TorchTensor>, file: string, opts: StateDictOptions = {}): StateDict {
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

/** Model weights from the bytes of a `.pth` or a safetensors file (ours included), e.g. fetched in a browser. */
export function stateDictFromBytes(bytes: Uint8Array, name = '<checkpoint bytes>', opts: StateDictOptions = {}): StateDict {
  const tensors = looksLikeSafetensors(bytes.subarray(0, 9))
    ? safetensorsWeights(parseSafetensors(bytes, name))
    : unwrapTorch(parsePth(bytesSource(bytes, name)), name);
  return tensorsToStateDict(tensors, name, opts);
}
