import * as fs from 'fs';
import * as zlib from 'zlib';
import { inflateSync } from 'fflate';

/** One member of a zip archive, as listed by the central directory. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

// zlib.crc32 is native (Node >= 20.15); without it the CRC check is skipped rather than done slowly in JS.
const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/**
 * Random-access reader of a zip file through positional reads: only the central directory and the members
 * asked for are read, each straight into its own (aligned) buffer, so a multi-GB `.pth` never has to sit
 * in memory twice. Stored members (what torch.save writes) are not copied again; deflated ones are
 * inflated with fflate.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  readonly byteLength: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
    try {
      this.byteLength = fs.fstatSync(this.fd).size;
      this.readCentralDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private fail(msg: string): never {
    throw new Error(`${this.file}: ${msg}`);
  }

  /** Re-opens a closed archive (lazy readers close it between reads). */
  private ensureOpen(): void {
    if (this.fd < 0) this.fd = fs.openSync(this.file, 'r');
  }

  private readAt(pos: number, len: number): Buffer {
    this.ensureOpen();
    if (pos < 0 || pos + len > this.byteLength) this.fail(`truncated zip (needs bytes ${pos}..${pos + len}, file has ${this.byteLength})`);
    const buf = Buffer.allocUnsafeSlow(len);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(this.fd, buf, done, len - done, pos + done);
      if (n === 0) this.fail('unexpected end of file');
      done += n;
    }
    return buf;
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record sits in the last 22 + up to 65535 (comment) bytes.
    const tailLen = Math.min(this.byteLength, 22 + 0xffff);
    if (tailLen < 22) this.fail('not a zip archive (file too small)');
    const tailPos = this.byteLength - tailLen;
    const tail = this.readAt(tailPos, tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('not a zip archive or truncated (no end-of-central-directory record)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = tailPos + eocd - 20;
      const loc = this.readAt(locPos, 20);
      if (loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) this.fail('zip64 locator missing');
      const z64 = this.readAt(Number(loc.readBigUInt64LE(8)), 56);
      if (z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) this.fail('zip64 end-of-central-directory record missing');
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOffset = Number(z64.readBigUInt64LE(48));
    }
    const cd = this.readAt(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) this.fail(`corrupt central directory at entry ${i}`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc32 = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      if (flags & 1) this.fail(`member '${name}' is encrypted`);
      // Zip64 extra field: the 64-bit values appear only for fields saturated at 0xffffffff, in this order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) (size = Number(cd.readBigUInt64LE(q))), (q += 8);
          if (compressedSize === 0xffffffff) (compressedSize = Number(cd.readBigUInt64LE(q))), (q += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, crc32, compressedSize, size, localHeaderOffset });
      p = eEnd + commentLen;
    }
  }

  /** Byte offset of a member's data (after its local header, whose extra field may differ from the central one). */
  private dataOffset(entry: ZipEntry): number {
    const h = this.readAt(entry.localHeaderOffset, 30);
    if (h.readUInt32LE(0) !== LOCAL_SIG) this.fail(`corrupt local header of '${entry.name}'`);
    return entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  }

  /** The member's bytes, in a fresh buffer starting at offset 0 of its ArrayBuffer (so typed views align). */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`zip member '${name}' not found`);
    const pos = this.dataOffset(entry);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) this.fail(`stored member '${name}' has inconsistent sizes`);
      out = this.readAt(pos, entry.size);
    } else if (entry.method === 8) {
      const raw = this.readAt(pos, entry.compressedSize);
      out = new Uint8Array(entry.size);
      try {
        out = inflateSync(raw, { out });
      } catch (err) {
        this.fail(`cannot inflate '${name}': ${(err as Error).message}`);
      }
      if (out.length !== entry.size) this.fail(`member '${name}' inflated to ${out.length} bytes, expected ${entry.size}`);
    } else {
      this.fail(`member '${name}' uses unsupported compression method ${entry.method}`);
    }
    if (nativeCrc32 && (nativeCrc32(out) >>> 0) !== entry.crc32) this.fail(`CRC mismatch in member '${name}' (file corrupt)`);
    return out;
  }
}
