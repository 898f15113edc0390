/**
 * Loading COCO annotation files at train2017 scale (450 MB, 860k annotations, ~60M polygon coordinates).
 * `JSON.parse` of the whole text spends most of its time building the polygon arrays, which a training run
 * reads one image at a time and a box evaluation never reads. So the file is read as bytes, each annotation's
 * `segmentation` value is located by a byte scan (memchr-speed for polygon lists) and replaced by a
 * left out of the text, the much smaller remainder goes through one `JSON.parse`, and every annotation gets a
 * `segmentation` property (added last, so the shape change is one shared transition) that parses its own slice of the file on first read and then becomes a plain value.
 * The values are exactly JSON.parse's (same text, same parser), so everything downstream stays number for number
 * with pycocotools. A file this scan does not understand is parsed whole by `JSON.parse` instead.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import { CocoFormatError } from './errors';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Thrown inside the scan when the text is not what it expects; the caller falls back to JSON.parse. */
class ScanMiss extends Error {}

const SEG_KEY = Buffer.from('"segmentation"');

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

class Scanner {
  pos = 0;
  /** Start of the value last skipped. */
  valueStart = 0;
  constructor(readonly b: Buffer) {}

  ws(): void {
    const b = this.b;
    while (this.pos < b.length && isSpace(b[this.pos])) this.pos++;
  }

  expect(c: number): void {
    this.ws();
    if (this.b[this.pos] !== c) throw new ScanMiss();
    this.pos++;
  }

  /** Consumes `c` if it is next (after whitespace). */
  eat(c: number): boolean {
    this.ws();
    if (this.b[this.pos] === c) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Past the closing quote of a string starting at `pos` (on the opening quote). */
  skipString(): void {
    const b = this.b;
    let i = this.pos + 1;
    for (;;) {
      const q = b.indexOf(QUOTE, i);
      if (q < 0) throw new ScanMiss();
      let bs = 0;
      for (let k = q - 1; k > this.pos && b[k] === BACKSLASH; k--) bs++;
      if (bs % 2 === 0) {
        this.pos = q + 1;
        return;
      }
      i = q + 1;
    }
  }

  /** True (and consumed) when the next key is exactly `"segmentation"` (plain bytes, no escapes); else skips the key. */
  isSegmentationKey(): boolean {
    this.ws();
    const b = this.b;
    if (b[this.pos] !== QUOTE) throw new ScanMiss();
    const s = this.pos;
    this.skipString();
    if (this.pos - s !== SEG_KEY.length) return false;
    for (let k = 1; k < SEG_KEY.length - 1; k++) if (b[s + k] !== SEG_KEY[k]) return false;
    return true;
  }

  /** A key string: its decoded text. */
  key(): string {
    this.ws();
    if (this.b[this.pos] !== QUOTE) throw new ScanMiss();
    const s = this.pos;
    this.skipString();
    return JSON.parse(this.b.toString('utf8', s, this.pos)) as string;
  }

  /**
   * Skips one JSON value; returns [start, end). Lists of number lists (polygons) take a fast path that jumps
   * from bracket to bracket with Buffer.indexOf; anything else is matched bracket by bracket.
   */
  skipValue(): [number, number] {
    this.ws();
    const b = this.b;
    const start = this.pos;
    this.valueStart = start;
    if (b[start] === LBRACKET && this.polygonList()) return [start, this.pos];
    this.pos = start;
    let depth = 0;
    let i = start;
    for (;;) {
      if (i >= b.length) throw new ScanMiss();
      const c = b[i];
      if (c === QUOTE) {
        this.pos = i;
        this.skipString();
        i = this.pos;
        if (depth === 0) break;
        continue;
      }
      if (c === LBRACKET || c === LBRACE) depth++;
      else if (c === RBRACKET || c === RBRACE) {
        // A scalar at depth 0 ends at its container's closing bracket.
        if (depth === 0) break;
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && (c === COMMA || isSpace(c))) break;
      i++;
    }
    this.pos = i;
    return [start, i];
  }

  /** `[[n,...],[n,...]]` with numbers only inside; false (position unspecified) when the value is anything else. */
  private polygonList(): boolean {
    const b = this.b;
    let i = this.pos + 1;
    while (isSpace(b[i])) i++;
    if (b[i] === RBRACKET) {
      this.pos = i + 1;
      return true;
    }
    for (;;) {
      if (b[i] !== LBRACKET) return false;
      const close = b.indexOf(RBRACKET, i + 1);
      if (close < 0) return false;
      // Inner lists hold numbers only: no nested bracket, brace or string between.
      const inner = b.subarray(i + 1, close);
      if (inner.includes(LBRACKET) || inner.includes(QUOTE) || inner.includes(LBRACE)) return false;
      i = close + 1;
      while (isSpace(b[i])) i++;
      if (b[i] === COMMA) {
        i++;
        while (isSpace(b[i])) i++;
        continue;
      }
      if (b[i] === RBRACKET) {
        this.pos = i + 1;
        return true;
      }
      return false;
    }
  }
}

/** Where each annotation's segmentation text lies in the file (annotation index -> byte range). */
interface SegmentationSlices {
  start: Float64Array;
  end: Float64Array;
  /** Index in the annotations list of the annotation each slice belongs to. */
  annOf: Float64Array;
}

/**
 * Builds the file's JSON without the annotations' segmentation members and records the byte range of each
 * value and the annotation it belongs to. Throws ScanMiss when the layout is not a top-level object with an `annotations` list of objects.
 */
function stripSegmentations(b: Buffer): { text: Buffer; slices: SegmentationSlices; count: number } {
  const sc = new Scanner(b);
  // Only ever removes bytes: the output fits in the input's size.
  const out = Buffer.allocUnsafe(b.length);
  let o = 0;
  let copyFrom = 0;
  let start = new Float64Array(1 << 16);
  let end = new Float64Array(1 << 16);
  let annOf = new Float64Array(1 << 16);
  let count = 0;
  let annIndex = 0;
  let seen = false;
  const grow = (a: Float64Array): Float64Array<ArrayBuffer> => {
    const n = new Float64Array(a.length * 2);
    n.set(a);
    return n;
  };
  sc.expect(LBRACE);
  if (!sc.eat(RBRACE)) {
    for (;;) {
      const k = sc.key();
      sc.expect(COLON);
      if (k === 'annotations' && !seen) {
        seen = true;
        sc.expect(LBRACKET);
        if (!sc.eat(RBRACKET)) {
          for (;;) {
            sc.expect(LBRACE);
            if (!sc.eat(RBRACE)) {
              for (;;) {
                sc.ws();
                const keyStart = sc.pos;
                const isSeg = sc.isSegmentationKey();
                sc.expect(COLON);
                const [, ve] = sc.skipValue();
                if (!isSeg) {
                  if (sc.eat(COMMA)) continue;
                  sc.expect(RBRACE);
                  break;
                }
                // The member is left out of the text (the property is added back lazily): drop it with the comma
                // after it, or, when it is the object's last member, with the comma before it.
                if (count === start.length) {
                  start = grow(start);
                  end = grow(end);
                  annOf = grow(annOf);
                }
                start[count] = sc.valueStart;
                end[count] = ve;
                annOf[count] = annIndex;
                count++;
                const last = !sc.eat(COMMA);
                o += b.copy(out, o, copyFrom, keyStart);
                if (last) {
                  let q = o - 1;
                  while (q >= 0 && isSpace(out[q])) q--;
                  if (out[q] === COMMA) o = q;
                  copyFrom = ve;
                  sc.expect(RBRACE);
                  break;
                }
                sc.ws();
                copyFrom = sc.pos;
                if (sc.eat(RBRACE)) throw new ScanMiss();
              }
            }
            annIndex++;
            if (sc.eat(COMMA)) continue;
            sc.expect(RBRACKET);
            break;
          }
        }
      } else {
        sc.skipValue();
      }
      if (sc.eat(COMMA)) continue;
      sc.expect(RBRACE);
      break;
    }
  }
  sc.ws();
  if (sc.pos !== b.length || !seen) throw new ScanMiss();
  o += b.copy(out, o, copyFrom, b.length);
  return { text: out.subarray(0, o), slices: { start, end, annOf }, count };
}

/**
 * Adds `ann.segmentation` as a property that parses the file's slice on first read (then stays a plain data
 * property). Assigning replaces it like any property.
 */
function installLazySegmentation(ann: Record<string, unknown>, bytes: Buffer, s: number, e: number, file: string): void {
  Object.defineProperty(ann, 'segmentation', {
    configurable: true,
    enumerable: true,
    get(this: Record<string, unknown>) {
      let v: unknown;
      try {
        v = JSON.parse(bytes.toString('utf8', s, e));
      } catch (err) {
        throw new CocoFormatError(`${file}: annotation id ${String(this.id)}: invalid JSON in 'segmentation' (${(err as Error).message})`);
      }
      Object.defineProperty(this, 'segmentation', { value: v, writable: true, enumerable: true, configurable: true });
      return v;
    },
    set(this: Record<string, unknown>, v: unknown) {
      Object.defineProperty(this, 'segmentation', { value: v, writable: true, enumerable: true, configurable: true });
    },
  });
}

/** Stats of the last `readCocoFile` (for the bench). */
export interface CocoLoadInfo {
  bytes: number;
  /** 'lazy-segmentation' or 'json-parse' (fallback). */
  method: 'lazy-segmentation' | 'json-parse';
  lazySegmentations: number;
  /** CPU seconds of the phases: byte scan, JSON.parse of the rest, installing the lazy properties. */
  seconds?: { scan: number; parse: number; lazy: number };
}

/**
 * Reads a COCO annotation file with lazily parsed segmentations (see the file comment). Errors name the file.
 * `info`, when given, receives how the file was read.
 */
export function readCocoFile(file: string, info?: Partial<CocoLoadInfo>): unknown {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CocoFormatError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (info) info.bytes = bytes.length;
  // A UTF-8 byte order mark or anything unusual: the plain path.
  let stripped: ReturnType<typeof stripSegmentations> | undefined;
  const t0 = cpuNow();
  try {
    stripped = stripSegmentations(bytes);
  } catch (e) {
    if (!(e instanceof ScanMiss)) throw e;
  }
  if (!stripped || stripped.count === 0) {
    if (info) Object.assign(info, { method: 'json-parse', lazySegmentations: 0 });
    return parseText(bytes.toString('utf8'), file);
  }
  const t1 = cpuNow();
  // Pure ASCII (the usual case) decodes as a byte copy; anything else through the UTF-8 decoder.
  const text = isAscii(stripped.text) ? stripped.text.toString('latin1') : stripped.text.toString('utf8');
  const ds = parseText(text, file) as { annotations?: unknown };
  const t2 = cpuNow();
  const anns = ds.annotations as Record<string, unknown>[];
  const { start, end, annOf } = stripped.slices;
  for (let j = 0; j < stripped.count; j++) installLazySegmentation(anns[annOf[j]], bytes, start[j], end[j], file);
  if (info) Object.assign(info, { method: 'lazy-segmentation', lazySegmentations: stripped.count, seconds: { scan: (t1 - t0) / 1000, parse: (t2 - t1) / 1000, lazy: (cpuNow() - t2) / 1000 } });
  return ds;
}

function parseText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CocoFormatError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Process CPU seconds ×1000 (the phases are reported in CPU time: wall time on a shared machine says little). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
