/**
 * mIoU of predicted label maps against GT label maps (mmsegmentation 0.13 metric).
 *   npx nx run segmentation:eval-miou -- --pred DIR --gt DIR --num-classes N [--reduce-zero-label] [--json]
 * PNG files are matched by name. --json prints {"aAcc","mIoU","mAcc","IoU":[...],"Acc":[...]} with NaN as null.
 */
import { evaluateMiouDirs, formatMiouTable, miouToJson } from '@litv2/segmentation/evaluation';

const USAGE = 'usage: eval-miou --pred DIR --gt DIR --num-classes N [--reduce-zero-label] [--ignore-index 255] [--json]';

function fail(msg: string): never {
  process.stderr.write(`eval-miou: ${msg}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const vals: Record<string, string> = {};
const flags = new Set<string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') continue;
  if (a === '--help' || a === '-h') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (a === '--json' || a === '--reduce-zero-label') {
    flags.add(a.slice(2));
    continue;
  }
  const m = /^--(pred|gt|num-classes|ignore-index)(?:=(.*))?$/.exec(a);
  if (!m) fail(`unknown argument '${a}'\n${USAGE}`);
  const v = m[2] ?? argv[++i];
  if (v === undefined) fail(`--${m[1]} needs a value`);
  vals[m[1]] = v;
}
for (const k of ['pred', 'gt', 'num-classes']) if (!vals[k]) fail(`missing --${k}\n${USAGE}`);
const numClasses = Number(vals['num-classes']);
if (!Number.isInteger(numClasses) || numClasses <= 0) fail(`--num-classes must be a positive integer, got '${vals['num-classes']}'`);
const ignoreIndex = vals['ignore-index'] === undefined ? 255 : Number(vals['ignore-index']);
if (!Number.isInteger(ignoreIndex)) fail(`--ignore-index must be an integer`);

let result: ReturnType<typeof evaluateMiouDirs>;
try {
  result = evaluateMiouDirs(vals.pred, vals.gt, { numClasses, ignoreIndex, reduceZeroLabel: flags.has('reduce-zero-label') });
} catch (e) {
  fail((e as Error).message);
}
if (flags.has('json')) process.stdout.write(`${JSON.stringify(miouToJson(result))}\n`);
else process.stdout.write(`${result.files.length} images\n${formatMiouTable(result)}\n`);
