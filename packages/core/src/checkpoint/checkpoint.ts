import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { writeAll, writeFileAtomic } from './atomic';
import {
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, HASH_PLACEHOLDER, ST_SIZES, checkpointFromSafetensors, parseSafetensors,
  type Checkpoint, type HeaderEntry, type SafetensorsFile,
} from './safetensors';
import { looksLikeSafetensors } from './state_dict';

export type { Checkpoint, SafetensorsFile };

const sha256Hex = (data: Uint8Array): string => crypto.createHash('sha256').update(data).digest('hex');

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
      version: CHECKPOINT_VERSION,
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


/** True when `file` starts like a safetensors file (our checkpoint format included). */
export function isSafetensorsFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(9);
    if (fs.readSync(fd, b, 0, 9, 0) < 9) return false;
    return looksLikeSafetensors(b);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a safetensors file (ours or any other) with integrity checks, the sha256 included; errors name the file. */
export function readSafetensors(file: string): SafetensorsFile {
  if (!fs.existsSync(file)) throw new Error(`${file}: checkpoint not found`);
  return parseSafetensors(fs.readFileSync(file), file, { sha256: sha256Hex });
}

/** Loads a checkpoint written by `saveCheckpoint` (tensors in PyTorch layout; caller disposes). */
export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  return checkpointFromSafetensors(readSafetensors(file), file);
}
