/**
 * Training-log analysis (mmdet tools/analysis_tools/analyze_logs.py), nx: `tools:analyze-logs`:
 *   plot WORK_DIR_OR_LOG [...] [--keys loss,bbox_mAP] [--x iter|epoch] [--legend a,b] [--title T] [--out curves.png]
 *     draws the keys of one or several runs (work dirs or .log.jsonl files) as curves.png + curves.svg
 *   keys WORK_DIR_OR_LOG [...]     lists the keys the logs hold
 */
import * as path from 'node:path';
import {
  UsageError,
  buildCurveSeries,
  curveChartSpec,
  curveKeys,
  defaultCurveKeys,
  parseArgs,
  readRunLog,
  toolFlags,
  writeChart,
} from '@litv2/core/node';

const USAGE = 'analyze-logs plot WORK_DIR_OR_LOG [...] [--keys k1,k2] [--x iter|epoch] [--legend l1,l2] [--title T] [--out curves.png] | analyze-logs keys WORK_DIR_OR_LOG [...]';

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== 'plot' && cmd !== 'keys') throw new UsageError(`expected a command 'plot' or 'keys'${cmd ? `, got '${cmd}'` : ''}; usage: ${USAGE}`);
  const f = toolFlags(parseArgs(rest), { allowed: ['keys', 'x', 'legend', 'title', 'out'], usage: USAGE, positional: true });
  const targets = f.positional;
  if (!targets.length) f.fail('give at least one work dir or .log.jsonl file');
  const legend = f.string('legend')?.split(',');
  if (legend && legend.length !== targets.length) f.fail(`--legend has ${legend.length} label(s) for ${targets.length} log(s)`);
  const runs = targets.map((t, i) => readRunLog(t, legend?.[i]));
  if (cmd === 'keys') {
    for (const r of runs) {
      console.log(`${r.label}: train: ${curveKeys(r.records, 'train').join(', ')}`);
      console.log(`${' '.repeat(r.label.length)}  val:   ${curveKeys(r.records, 'val').join(', ') || '(no evaluation yet)'}`);
    }
    return 0;
  }
  const axis = f.string('x') ?? 'iter';
  if (axis !== 'iter' && axis !== 'epoch') f.fail(`--x must be 'iter' or 'epoch' (got '${axis}')`);
  const keys = f.string('keys')?.split(',').filter(Boolean) ?? defaultCurveKeys(runs[0].records);
  const series = buildCurveSeries(runs, keys, axis as 'iter' | 'epoch');
  const spec = curveChartSpec(series, { axis: axis as 'iter' | 'epoch', title: f.string('title') });
  const files = await writeChart(spec, path.resolve(f.string('out') ?? 'curves.png'));
  console.log(`${series.length} curve(s) of ${keys.join(', ')} from ${runs.length} run(s): ${files.png}, ${files.svg}`);
  return 0;
}
