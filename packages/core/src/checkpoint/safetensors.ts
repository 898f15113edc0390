import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../nn/module';
import { u64le } from './byte_source';
import { torchToFloat32, TorchTensor, typedView, type TorchDtype } from './torch-tensor';

/** Optimizer state by parameter name, per slot (e.g. AdamW `m`, `v`); the engine re-exports it. */
export interface OptimizerState {
  type: string;
  step: number;
  slots: Record<string, StateDict>;
  extra?: Record<string, unknown>;
}

/** What `saveCheckpoint` writes and `loadCheckpoint` returns (tensors in PyTorch layout, caller disposes). */
export interface Checkpoint {
  model: StateDict;
  optimizer?: OptimizerState;
  /** JSON-serialisable: epoch, iter, config, rng state, ... */
  meta: Record<string, unknown>;
}

/*
 * File layout: the safetensors format (so Python's `safetensors` can read our weights):
 *   u64 little-endian header length N | N bytes JSON header (space-padded to 8) | tensor bytes back to back.
 * Header keys: `model.<name>`, `optimizer.<slot>.<name>` -> {dtype, shape, data_offsets}, and `__metadata__`
 * (string values only): format, version, meta (JSON), optimizer (JSON without tensors), sha256 of the data.
 */
export const CHECKPOINT_FORMAT = 'litv2-ts-checkpoint';
export const CHECKPOINT_VERSION = '1';
export const HASH_PLACEHOLDER = '0'.repeat(64);

export const ST_DTYPES: Record<string, TorchDtype> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
export const ST_SIZES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, TorchTensor>;
}

/**
 * Parses safetensors bytes (ours or any other) with integrity checks; errors start with `name`. `sha256`
 * (hex digest of the tensor data) verifies our checkpoints' hash where the platform has a synchronous one
 * (Node's crypto); without it the check is skipped.
 */
export function parseSafetensors(buf: Uint8Array, name: string, opts: { sha256?: (data: Uint8Array) => string } = {}): SafetensorsFile {
  const file = name;
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (buf.length < 8) fail('truncated checkpoint (no header)');
  const n = Number(u64le(buf, 0));
  if (8 + n > buf.length) fail(`truncated checkpoint (header of ${n} bytes, file has ${buf.length})`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8').decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    return fail(`corrupt checkpoint header: ${(e as Error).message}`);
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  let end = 0;
  const specs: [string, HeaderEntry][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = v as HeaderEntry;
    if (!e || !ST_SIZES[e.dtype] || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) fail(`bad header entry '${name}'`);
    const [a, b] = e.data_offsets;
    if (b - a !== e.shape.reduce((x, y) => x * y, 1) * ST_SIZES[e.dtype]) fail(`entry '${name}' size does not match its shape`);
    end = Math.max(end, b);
    specs.push([name, e]);
  }
  if (end > dataLen) fail(`truncated checkpoint (data needs ${end} bytes, file holds ${dataLen})`);
  if (end < dataLen) fail(`corrupt checkpoint (${dataLen - end} unexpected trailing bytes)`);
  const data = buf.subarray(dataStart);
  if (metadata.sha256 && opts.sha256) {
    const got = opts.sha256(data);
    if (got !== metadata.sha256) fail('corrupt checkpoint (sha256 of the tensor data does not match the header)');
  }
  const tensors = new Map<string, TorchTensor>();
  for (const [name, e] of specs) {
    const dtype = ST_DTYPES[e.dtype];
    let bytes: Uint8Array = data.subarray(e.data_offsets[0], e.data_offsets[1]);
    if (bytes.byteOffset % 8 !== 0) bytes = new Uint8Array(bytes); // realign (copy) for typed views
    tensors.set(name, new TorchTensor(dtype, e.shape, typedView(dtype, bytes)));
  }
  return { metadata, tensors };
}

/** A tf tensor of a checkpoint tensor: float32, except int32/bool which stay as they are. */
export function torchTensorToTf(t: TorchTensor): tf.Tensor {
  if (t.dtype === 'int32') return tf.tensor(t.data as Int32Array, t.shape, 'int32');
  if (t.dtype === 'bool') return tf.tensor(t.data as Uint8Array, t.shape, 'bool');
  return tf.tensor(torchToFloat32(t), t.shape, 'float32');
}

/** The checkpoint inside parsed safetensors written by `saveCheckpoint` (tensors in PyTorch layout; caller disposes). */
export function checkpointFromSafetensors(st: SafetensorsFile, file: string): Checkpoint {
  const { metadata, tensors } = st;
  if (metadata.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: not a ${CHECKPOINT_FORMAT} file (format '${metadata.format ?? 'none'}')`);
  let meta: Record<string, unknown>;
  let opt: { type: string; step: number; extra?: Record<string, unknown>; slots: string[] } | undefined;
  try {
    meta = JSON.parse(metadata.meta ?? '{}') as Record<string, unknown>;
    opt = metadata.optimizer ? JSON.parse(metadata.optimizer) : undefined;
  } catch (e) {
    throw new Error(`${file}: corrupt checkpoint metadata: ${(e as Error).message}`);
  }
  const model: StateDict = {};
  const slots: Record<string, StateDict> = {};
  for (const s of opt?.slots ?? []) slots[s] = {};
  for (const [name, t] of tensors) {
    if (name.startsWith('model.')) {
      model[name.slice(6)] = torchTensorToTf(t);
    } else if (name.startsWith('optimizer.')) {
      const rest = name.slice(10);
      const dot = rest.indexOf('.');
      const slot = rest.slice(0, dot);
      if (!slots[slot]) throw new Error(`${file}: tensor '${name}' belongs to unknown optimizer slot '${slot}'`);
      slots[slot][rest.slice(dot + 1)] = torchTensorToTf(t);
    }
  }
  const out: Checkpoint = { model, meta };
  if (opt) out.optimizer = { type: opt.type, step: opt.step, slots, ...(opt.extra ? { extra: opt.extra } : {}) };
  return out;
}

/** A checkpoint from bytes in memory (e.g. fetched in a browser; the sha256 check needs `opts.sha256`). */
export function checkpointFromBytes(bytes: Uint8Array, name = '<checkpoint bytes>', opts: { sha256?: (data: Uint8Array) => string } = {}): Checkpoint {
  return checkpointFromSafetensors(parseSafetensors(bytes, name, opts), name);
}
