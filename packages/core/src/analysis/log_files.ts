/**
 * Reads the engine's JSON-lines logs from disk (node-only): a `.log.jsonl` file, or a work dir whose log files
 * (named by start time, so name order is time order) are merged into one run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mergeRunRecords, parseLogLines, type RunLog } from './curves';

export const LOG_SUFFIX = '.log.jsonl';

/** The log files of a work dir, oldest first. */
export function workDirLogFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(LOG_SUFFIX))
    .sort()
    .map((f) => path.join(dir, f));
}

/** One run from a log file or a work dir; errors name the path. */
export function readRunLog(target: string, label?: string): RunLog {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new Error(`${target}: no such log file or work dir`);
  }
  const files = stat.isDirectory() ? workDirLogFiles(target) : [target];
  if (!files.length) throw new Error(`${target}: no *${LOG_SUFFIX} file in this work dir`);
  const records = mergeRunRecords(files.map((f) => parseLogLines(fs.readFileSync(f, 'utf8'), f)));
  if (!records.length) throw new Error(`${target}: the log holds no record yet`);
  const name = stat.isDirectory() ? path.basename(path.resolve(target)) : path.basename(target, LOG_SUFFIX);
  return { label: label ?? name, records };
}
