import * as fs from 'node:fs';
import { fileByteSource } from './file_byte_source';
import { parsePth, type ReadPthOptions } from './pth';

/** Reads a `torch.save` file (see `parsePth`); lazy readers re-open the file when a tensor is first read. */
export function readPth(file: string, opts: ReadPthOptions = {}): unknown {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  return parsePth(fileByteSource(file), opts);
}
