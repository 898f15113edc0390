/**
 * Work-dir bookkeeping that keeps runs apart: the `last_checkpoint` pointer (relative to the work dir, so a
 * copied or moved work dir resumes from its own files), the check that a fresh run does not write over another
 * run's checkpoints, and removal of temp files left by a killed checkpoint write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Name of the file in the work dir that points at the newest checkpoint. */
export const LAST_CHECKPOINT_FILE = 'last_checkpoint';
export const CHECKPOINT_EXT = '.ckpt';

/** Thrown when a fresh run would mix its checkpoints with another run's. */
export class WorkDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkDirInUseError';
  }
}

/** What `last_checkpoint` stores for `file`: its path relative to the work dir when it lies inside it. */
export function checkpointPointer(workDir: string, file: string): string {
  const rel = path.relative(path.resolve(workDir), path.resolve(file));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(file);
}

/**
 * The file `last_checkpoint` points at, or undefined. A relative pointer is read against the work dir; an
 * absolute one (older runs wrote those) is used as it is unless the work dir holds a file of the same name,
 * which wins: a copied work dir must not resume from the original's checkpoints.
 */
export function readCheckpointPointer(workDir: string): string | undefined {
  const ptr = path.join(workDir, LAST_CHECKPOINT_FILE);
  if (!fs.existsSync(ptr)) return undefined;
  const target = fs.readFileSync(ptr, 'utf8').trim();
  if (!target) return undefined;
  if (!path.isAbsolute(target)) {
    const f = path.join(workDir, target);
    return fs.existsSync(f) ? f : undefined;
  }
  const local = path.join(workDir, path.basename(target));
  if (path.resolve(path.dirname(target)) !== path.resolve(workDir) && fs.existsSync(local)) return local;
  return fs.existsSync(target) ? target : undefined;
}

/** Checkpoint files (`*.ckpt`) directly inside the work dir, sorted by name. */
export function listCheckpoints(workDir: string): string[] {
  if (!fs.existsSync(workDir)) return [];
  return fs
    .readdirSync(workDir)
    .filter((f) => f.endsWith(CHECKPOINT_EXT) && fs.statSync(path.join(workDir, f)).isFile())
    .sort();
}

/**
 * Refuses a fresh run (neither `--resume` nor `resume_from`) into a work dir that holds checkpoints, unless
 * `overwrite` is set. Writes nothing.
 */
export function checkFreshWorkDir(workDir: string, opts: { overwrite?: boolean }): void {
  if (opts.overwrite) return;
  const found = listCheckpoints(workDir);
  const hasPointer = fs.existsSync(path.join(workDir, LAST_CHECKPOINT_FILE));
  if (!found.length && !hasPointer) return;
  const what = found.length ? `${found.length} checkpoint(s) (${found.slice(0, 3).join(', ')}${found.length > 3 ? ', …' : ''})` : `a ${LAST_CHECKPOINT_FILE} pointer`;
  throw new WorkDirInUseError(
    `work dir ${workDir} holds ${what} of an earlier run; pass --resume to continue it, --work-dir NEW_DIR to start a separate run, or --overwrite to replace it`,
  );
}

/** Removes the earlier run's checkpoints and pointer (a fresh run with `--overwrite`); returns the removed names. */
export function clearCheckpoints(workDir: string): string[] {
  const removed = listCheckpoints(workDir);
  for (const f of removed) fs.rmSync(path.join(workDir, f), { force: true });
  const ptr = path.join(workDir, LAST_CHECKPOINT_FILE);
  if (fs.existsSync(ptr)) {
    fs.rmSync(ptr, { force: true });
    removed.push(LAST_CHECKPOINT_FILE);
  }
  return removed;
}

// `.NAME.tmp-PID-xxxxxx` (core/checkpoint's atomic writer) and `NAME.tmp-PID` (older writers).
const TEMP_FILE = /\.tmp-(\d+)(?:-[0-9a-z]+)?$/;

const processAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Deletes temp files that a killed atomic write left in the work dir. Files of a writer that is still running
 * (another process on the same work dir) are left alone. Returns the removed names.
 */
export function removeStaleTempFiles(workDir: string): string[] {
  if (!fs.existsSync(workDir)) return [];
  const removed: string[] = [];
  for (const f of fs.readdirSync(workDir)) {
    const m = TEMP_FILE.exec(f);
    if (!m || processAlive(Number(m[1]))) continue;
    const full = path.join(workDir, f);
    if (!fs.statSync(full).isFile()) continue;
    fs.rmSync(full, { force: true });
    removed.push(f);
  }
  return removed.sort();
}
