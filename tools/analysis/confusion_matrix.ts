/**
 * `detection:confusion-matrix` (mmdet tools/analysis_tools/confusion_matrix.py):
 *   --config NAME [--results FILE] [--out-dir DIR] [--score-thr 0.3] [--tp-iou-thr 0.5] [--nms-iou-thr T]
 * Reads COCO-format detections (default: the work dir's results.bbox.json written by detection:test), counts
 * them against `data.test`'s ground truth and writes confusion_matrix.json, .png and .svg.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureSyntheticData, parseArgs, resolveWorkDir, toolFlags, writeTextFileAtomic, writeChart, type TaskContext } from '@litv2/core/node';
import { CocoDetDataset, cocoConfusionMatrix, confusionChartSpec, detectionTask, normalizeRows } from '@litv2/detection';
import type { CocoResult } from '@litv2/cocoapi';
import { toolDeps } from '../task_table';

const USAGE = '--config NAME [--results results.bbox.json] [--out-dir DIR] [--score-thr 0.3] [--tp-iou-thr 0.5] [--nms-iou-thr T] [--work-dir D] [--cfg-options k=v ...]';

export async function main(argv: string[], log: (l: string) => void = console.log): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['config', 'cfg-options', 'work-dir', 'results', 'out-dir', 'score-thr', 'tp-iou-thr', 'nms-iou-thr'], usage: USAGE });
  const scoreThr = f.number('score-thr', 0.3, { min: 0 });
  const tpIouThr = f.number('tp-iou-thr', 0.5, { min: 0 });
  const nmsIouThr = f.number('nms-iou-thr', undefined, { min: 0 });
  const deps = toolDeps();
  const loaded = deps.loadConfig(f.string('config', { required: true }), { cfgOptions: f.cfgOptions });
  const workDir = resolveWorkDir({ cfg: loaded.cfg, workDir: f.string('work-dir'), configName: loaded.name, repoRoot: deps.repoRoot });
  const resultsFile = path.resolve(f.string('results') ?? path.join(workDir, 'results.bbox.json'));
  if (!fs.existsSync(resultsFile)) throw new Error(`results file not found: ${resultsFile} (write one with detection:test --out FILE)`);
  let results: CocoResult[];
  try {
    results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as CocoResult[];
  } catch (e) {
    throw new Error(`${resultsFile}: invalid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(results)) throw new Error(`${resultsFile}: expected a list of detections`);
  await ensureSyntheticData(loaded.cfg, deps.repoRoot, log);
  const ctx: TaskContext = { configFile: loaded.file, repoRoot: deps.repoRoot, skipBadSamples: false, log };
  const ds = await detectionTask.buildDataset(loaded.cfg, 'test', ctx);
  if (!(ds instanceof CocoDetDataset)) throw new Error('confusion matrix: data.test must be a CocoDataset');
  const cm = cocoConfusionMatrix({ coco: ds.coco, catIds: ds.catIds, imgIds: ds.imgIds, classes: ds.classes }, results, { scoreThr, tpIouThr, nmsIouThr });
  const outDir = path.resolve(f.string('out-dir') ?? workDir);
  fs.mkdirSync(outDir, { recursive: true });
  const jsonFile = path.join(outDir, 'confusion_matrix.json');
  writeTextFileAtomic(jsonFile, JSON.stringify({ ...cm, results: resultsFile, normalized_percent: normalizeRows(cm.counts).map((r) => r.map((v) => (Number.isNaN(v) ? null : v))) }, null, 1) + '\n');
  const files = await writeChart(confusionChartSpec(cm), path.join(outDir, 'confusion_matrix'), 2);
  const w = Math.max(10, ...cm.labels.map((l) => l.length));
  log(`confusion matrix (rows: ground truth, columns: prediction; score >= ${scoreThr}, IoU >= ${tpIouThr}):`);
  log(' '.repeat(w) + cm.labels.map((l) => l.slice(0, 10).padStart(11)).join(''));
  cm.counts.forEach((row, i) => log(cm.labels[i].padEnd(w) + row.map((v) => String(v).padStart(11)).join('')));
  log(`wrote ${jsonFile}, ${files.png}, ${files.svg}`);
  return 0;
}
