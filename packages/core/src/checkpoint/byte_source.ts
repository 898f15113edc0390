/**
 * Random access to the bytes of a checkpoint, wherever they live: an in-memory Uint8Array (browser, tests)
 * or a file read through positional reads (`fileByteSource` in the node entry), so the zip / .pth readers
 * are the same code in both places and a multi-GB file never has to be read whole.
 */
export interface ByteSource {
  /** What error messages call the data: a file path, or a name given by the caller. */
  readonly name: string;
  readonly byteLength: number;
  /** `len` bytes from `pos`, in a fresh buffer starting at offset 0 of its ArrayBuffer (so typed views align). */
  read(pos: number, len: number): Uint8Array;
  /** Releases what the source holds open (a file descriptor); reading again re-opens it. */
  close(): void;
  /** CRC-32 of a member, when the platform has a fast one (Node's zlib); undefined skips the zip CRC check. */
  readonly crc32?: (data: Uint8Array) => number;
}

/** A ByteSource over bytes already in memory (e.g. a `fetch()`ed checkpoint). */
export function bytesSource(bytes: Uint8Array, name = '<bytes>'): ByteSource {
  return {
    name,
    byteLength: bytes.length,
    read(pos, len) {
      if (pos < 0 || pos + len > bytes.length) throw new Error(`${name}: truncated (needs bytes ${pos}..${pos + len}, has ${bytes.length})`);
      return bytes.slice(pos, pos + len);
    },
    close() {},
  };
}

/** Bytes as latin-1 text (one char per byte), as Python's pickle and torch's byteorder record mean it. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Little-endian u32 / u16 / u64 readers over a Uint8Array (Buffer's readUInt*LE without Node). */
export function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}
export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}
export function u64le(b: Uint8Array, i: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(i, true);
}
