import * as crypto from 'crypto';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../nn/module';
import { writeAll, writeFileAtomic } from './atomic';
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
const VERSION = '1';
const HASH_PLACEHOLDER = '0'.repeat(64);

const ST_DTYPES: Record<string, TorchDtype> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const ST_SIZES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function tfToSt(t: tf.Tensor, name: string): string {
  if (t.dtype === 'float32') return 'F32';
  if (t.dtype === 'int32') return 'I32';
  if (t.dtype === 'bool') return 'BOOL';
  throw new Error(`saveCheckpoint: tensor '${name}' has unsupported dtype ${t.dtype}`);
}

/** Saves weights, optimizer state and meta atomically (temp file + fsync + rename). */
export async function saveCheckpoint(file: string, ckpt: Checkpoint): Promise<void> {
  const entries: [string, tf.Tensor][] = Object.entries(ckpt.model).map(([k, t]) => [`model.${k}`, t]);
  let optimizerJson: string | undefined;
  if (ckpt.optimizer) {
    const { type, step, slots, extra } = ckpt.optimizer;
    for (const [slot, dict] of Object.entries(slots)) {
      if (slot.includes('.')) throw new Error(`saveCheckpoint: optimizer slot name '${slot}' must not contain '.'`);
      for (const [k, t] of Object.entries(dict)) entries.push([`optimizer.${slot}.${k}`, t]);
    }
    optimizerJson = JSON.stringify({ type, step, slots: Object.keys(slots), ...(extra ? { extra } : {}) });
  }
  let metaJson: string;
  try {
    metaJson = JSON.stringify(ckpt.meta);
  } catch (e) {
    throw new Error(`saveCheckpoint(${file}): meta is not JSON-serialisable: ${(e as Error).message}`);
  }

  const header: Record<string, unknown> = {
    __metadata__: {
      format: CHECKPOINT_FORMAT,
      version: VERSION,
      meta: metaJson,
      ...(optimizerJson ? { optimizer: optimizerJson } : {}),
      sha256: HASH_PLACEHOLDER,
    },
  };
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype = tfToSt(t, name);
    const nbytes = t.size * ST_SIZES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] } satisfies HeaderEntry;
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  // The hash is only known after streaming the data: patch it into the header in place afterwards.
  const hashPos = 8 + headerBytes.indexOf(`"sha256":"${HASH_PLACEHOLDER}"`) + '"sha256":"'.length;

  writeFileAtomic(file, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    writeAll(fd, len);
    writeAll(fd, headerBytes);
    const hash = crypto.createHash('sha256');
    for (const [, t] of entries) {
      const data = t.dataSync();
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      hash.update(bytes);
      writeAll(fd, bytes);
    }
    fs.writeSync(fd, Buffer.from(hash.digest('hex'), 'latin1'), 0, 64, hashPos);
  });
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, TorchTensor>;
}

/** True when `file` starts like a safetensors file (our checkpoint format included). */
export function isSafetensorsFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(9);
    if (fs.readSync(fd, b, 0, 9, 0) < 9) return false;
    const n = b.readBigUInt64LE(0);
    return b[8] === 0x7b && n > 1n && n < 100_000_000n;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a safetensors file (ours or any other) with integrity checks; errors name the file. */
export function readSafetensors(file: string): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (!fs.existsSync(file)) fail('checkpoint not found');
  const buf = fs.readFileSync(file);
  if (buf.length < 8) fail('truncated checkpoint (no header)');
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) fail(`truncated checkpoint (header of ${n} bytes, file has ${buf.length})`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, unknown>;
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
  if (metadata.sha256) {
    const got = crypto.createHash('sha256').update(data).digest('hex');
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

/** Loads a checkpoint written by `saveCheckpoint` (tensors in PyTorch layout; caller disposes). */
export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  const { metadata, tensors } = readSafetensors(file);
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
