import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { ByteSource } from './byte_source';

// zlib.crc32 is native (Node >= 20.15); without it the CRC check is skipped rather than done slowly in JS.
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** A ByteSource over a file through positional reads; the descriptor is opened lazily and re-opened after close(). */
export function fileByteSource(file: string): ByteSource {
  let fd = fs.openSync(file, 'r');
  let byteLength: number;
  try {
    byteLength = fs.fstatSync(fd).size;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return {
    name: file,
    byteLength,
    crc32: nativeCrc32,
    read(pos, len) {
      if (fd < 0) fd = fs.openSync(file, 'r');
      if (pos < 0 || pos + len > byteLength) throw new Error(`${file}: truncated zip (needs bytes ${pos}..${pos + len}, file has ${byteLength})`);
      const buf = Buffer.allocUnsafeSlow(len);
      let done = 0;
      while (done < len) {
        const n = fs.readSync(fd, buf, done, len - done, pos + done);
        if (n === 0) throw new Error(`${file}: unexpected end of file`);
        done += n;
      }
      return buf;
    },
    close() {
      if (fd >= 0) fs.closeSync(fd);
      fd = -1;
    },
  };
}
