import { inflateSync } from 'fflate';
import { type ByteSource, u16le, u32le, u64le } from './byte_source';

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
const utf8 = new TextDecoder('utf-8');

/**
 * Random-access reader of a zip archive through positional reads of a ByteSource: only the central directory
 * and the members asked for are read, each straight into its own (aligned) buffer, so a multi-GB `.pth`
 * never has to sit in memory twice. Stored members (what torch.save writes) are not copied again; deflated
 * ones are inflated with fflate.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  readonly byteLength: number;
  /** The source's name (file path): error messages start with it. */
  readonly file: string;

  constructor(private readonly source: ByteSource) {
    this.file = source.name;
    try {
      this.byteLength = source.byteLength;
      this.readCentralDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    this.source.close();
  }

  private fail(msg: string): never {
    throw new Error(`${this.file}: ${msg}`);
  }

  private readAt(pos: number, len: number): Uint8Array {
    if (pos < 0 || pos + len > this.byteLength) this.fail(`truncated zip (needs bytes ${pos}..${pos + len}, file has ${this.byteLength})`);
    return this.source.read(pos, len);
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record sits in the last 22 + up to 65535 (comment) bytes.
    const tailLen = Math.min(this.byteLength, 22 + 0xffff);
    if (tailLen < 22) this.fail('not a zip archive (file too small)');
    const tailPos = this.byteLength - tailLen;
    const tail = this.readAt(tailPos, tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (u32le(tail, i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('not a zip archive or truncated (no end-of-central-directory record)');
    let count = u16le(tail, eocd + 10);
    let cdSize = u32le(tail, eocd + 12);
    let cdOffset = u32le(tail, eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = tailPos + eocd - 20;
      const loc = this.readAt(locPos, 20);
      if (u32le(loc, 0) !== ZIP64_LOCATOR_SIG) this.fail('zip64 locator missing');
      const z64 = this.readAt(Number(u64le(loc, 8)), 56);
      if (u32le(z64, 0) !== ZIP64_EOCD_SIG) this.fail('zip64 end-of-central-directory record missing');
      count = Number(u64le(z64, 32));
      cdSize = Number(u64le(z64, 40));
      cdOffset = Number(u64le(z64, 48));
    }
    const cd = this.readAt(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || u32le(cd, p) !== CENTRAL_SIG) this.fail(`corrupt central directory at entry ${i}`);
      const flags = u16le(cd, p + 8);
      const method = u16le(cd, p + 10);
      const crc32 = u32le(cd, p + 16);
      let compressedSize = u32le(cd, p + 20);
      let size = u32le(cd, p + 24);
      const nameLen = u16le(cd, p + 28);
      const extraLen = u16le(cd, p + 30);
      const commentLen = u16le(cd, p + 32);
      let localHeaderOffset = u32le(cd, p + 42);
      const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      if (flags & 1) this.fail(`member '${name}' is encrypted`);
      // Zip64 extra field: the 64-bit values appear only for fields saturated at 0xffffffff, in this order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = u16le(cd, e);
        const len = u16le(cd, e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) (size = Number(u64le(cd, q))), (q += 8);
          if (compressedSize === 0xffffffff) (compressedSize = Number(u64le(cd, q))), (q += 8);
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(u64le(cd, q));
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
    if (u32le(h, 0) !== LOCAL_SIG) this.fail(`corrupt local header of '${entry.name}'`);
    return entry.localHeaderOffset + 30 + u16le(h, 26) + u16le(h, 28);
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
    if (this.source.crc32 && (this.source.crc32(out) >>> 0) !== entry.crc32) this.fail(`CRC mismatch in member '${name}' (file corrupt)`);
    return out;
  }
}
