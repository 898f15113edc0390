import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes `file` so that readers only ever see the old or the complete new content: the data goes to a temp
 * file in the same directory (same filesystem, so rename is atomic), is fsynced, then renamed over the
 * target, and the directory is fsynced so the rename survives a crash. A writer killed midway leaves the
 * previous file untouched (plus a stray `.NAME.tmp-PID-*` file); a failed write or rename removes its temp file.
 */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}

/** Writes all of `bytes` at the fd's current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes text or bytes atomically (config dumps, small JSON files). */
export function writeTextFileAtomic(file: string, content: string | Uint8Array): void {
  writeFileAtomic(file, (fd) => writeAll(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content));
}
