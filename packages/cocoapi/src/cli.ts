/**
 * `coco-eval --gt GT.json --dt RESULTS.json --iou-type bbox|segm [--json]`.
 * Input problems (bad arguments, unreadable or malformed files) exit with code 2 and a one-line message.
 */
import { COCO } from './coco';
import { COCOeval } from './cocoeval';
import { CocoFormatError } from './errors';
import { describeGtProblem, findGtProblems } from './validate';
import type { IouType } from './params';

export const COCO_EVAL_USAGE =
  'usage: coco-eval --gt GT.json --dt RESULTS.json --iou-type bbox|segm [--json] [--allow-duplicate-ids]\n' +
  '  invalid ground truth (boxes of size <= 0, unknown categories or images) is reported on stderr and evaluated as pycocotools does;\n' +
  '  annotation ids used twice are an error unless --allow-duplicate-ids (then, as pycocotools, the last annotation of each id counts)';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

class UsageError extends Error {}

interface CliArgs {
  gt: string;
  dt: string;
  iouType: IouType;
  json: boolean;
  allowDuplicateIds: boolean;
}

function parseArgs(argv: readonly string[]): CliArgs | 'help' {
  const vals: Record<string, string> = {};
  let json = false;
  let allowDuplicateIds = false;
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      json = true;
      continue;
    }
    if (a === '--allow-duplicate-ids') {
      allowDuplicateIds = true;
      continue;
    }
    const m = /^--(gt|dt|iou-type)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unknown argument '${a}'`);
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') throw new UsageError(`--${m[1]} needs a value`);
    vals[m[1]] = v;
  }
  for (const k of ['gt', 'dt', 'iou-type']) if (!vals[k]) throw new UsageError(`missing --${k}`);
  const iouType = vals['iou-type'];
  if (iouType !== 'bbox' && iouType !== 'segm') throw new UsageError(`--iou-type must be bbox or segm, got '${iouType}'`);
  return { gt: vals.gt, dt: vals.dt, iouType, json, allowDuplicateIds };
}

/** Evaluate and report; returns the process exit code. */
export function cocoEvalMain(argv: readonly string[], io: CliIo): number {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      io.out(`${COCO_EVAL_USAGE}\n`);
      return 0;
    }
    const gt = new COCO(args.gt);
    for (const p of findGtProblems(gt)) {
      if (p.kind === 'duplicate_ann_id' && !args.allowDuplicateIds) {
        throw new CocoFormatError(
          `${args.gt}: ${describeGtProblem(p)}; pycocotools would keep only the last annotation of each such id and count it once per use. ` +
            'Give each annotation its own id, or pass --allow-duplicate-ids to evaluate exactly as pycocotools does',
        );
      }
      io.err(`coco-eval: warning: ${args.gt}: ${describeGtProblem(p)}${p.kind === 'duplicate_ann_id' ? ' (--allow-duplicate-ids: the last annotation of each id counts, as in pycocotools)' : ''}\n`);
    }
    const dt = gt.loadRes(args.dt);
    const E = new COCOeval(gt, dt, args.iouType);
    E.evaluate();
    E.accumulate();
    if (args.json) {
      const stats = E.summarize(null);
      const perCategory: Record<string, number[]> = {};
      for (const [catId, v] of E.perCategoryStats()) perCategory[String(catId)] = v;
      io.out(`${JSON.stringify({ stats, per_category: perCategory })}\n`);
    } else {
      E.summarize((line) => io.out(`${line}\n`));
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`coco-eval: ${e.message}\n${COCO_EVAL_USAGE}\n`);
      return 2;
    }
    if (e instanceof CocoFormatError) {
      io.err(`coco-eval: ${e.message}\n`);
      return 2;
    }
    // Anything else is still one line for the user; LITV2_DEBUG=1 shows where it came from.
    io.err(`coco-eval: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.LITV2_DEBUG) console.error(e);
    return 1;
  }
}
