/** Locates ../shared/reference/coco next to the repo root (the directory that holds nx.json). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function repoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    let dir = path.resolve(start);
    for (;;) {
      if (fs.existsSync(path.join(dir, 'nx.json'))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error('repo root (directory with nx.json) not found');
}

export const COCO_REF = path.resolve(repoRoot(), '../shared/reference/coco');

/** Public COCOeval cases: p01_small, p02_mixed, ... */
export function cocoCases(): string[] {
  return fs
    .readdirSync(COCO_REF)
    .filter((d) => /^p\d+/.test(d) && fs.existsSync(path.join(COCO_REF, d, 'expected.json')))
    .sort();
}

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(COCO_REF, ...parts), 'utf8')) as T;
}
