/**
 * `tools/predict.ts --task detection` (nx: `detection:predict`): detects objects in one image and draws boxes,
 * labels and scores; prints the detections above the threshold.
 *   --config NAME --checkpoint FILE --image IMG --out OUT.png [--score-thr 0.3] [--cfg-options k=v ...]
 * Boxes are drawn on the image as the model saw it (EXIF orientation applied); OUT may be .png, .jpg or .webp
 * and its folder is created.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ConfigNode } from '@litv2/core';
import { initBackend, parseArgs, toolFlags } from '@litv2/core/node';
import { detectionTask, drawDetections, inferenceDetector, type Detector } from '@litv2/detection';
import { toolDeps, repoRoot } from '../task_table';

const USAGE = '--config NAME --checkpoint FILE --image IMG --out OUT.png [--score-thr 0.3] [--cfg-options k=v ...]';

export async function main(argv: string[]): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['config', 'checkpoint', 'cfg-options', 'image', 'out', 'score-thr'], usage: USAGE });
  const config = f.string('config', { required: true });
  const ckpt = path.resolve(f.string('checkpoint', { required: true }));
  const image = path.resolve(f.string('image', { required: true }));
  const out = path.resolve(f.string('out', { required: true }));
  const thr = f.number('score-thr', 0.3);
  if (!/\.(png|jpe?g|webp)$/i.test(out)) f.fail(`--out ${out}: the extension names the format; use .png, .jpg or .webp`);
  if (!fs.existsSync(image)) throw new Error(`cannot read image '${image}': file not found`);

  const deps = toolDeps();
  await initBackend();
  const loaded = deps.loadConfig(config, { cfgOptions: f.cfgOptions });
  const cfg = loaded.cfg;
  // Trained weights replace everything; the ImageNet init is not needed.
  ((cfg.model as ConfigNode).backbone as ConfigNode).init_cfg = null;
  const net = (await detectionTask.buildModel(cfg, { configFile: loaded.file, repoRoot, skipBadSamples: false, log: console.log })) as Detector;
  const sd = await deps.loadWeights(ckpt);
  net.loadStateDict(sd, { strict: true });
  const t0 = performance.now();
  const dets = await inferenceDetector(net, cfg, image);
  const secs = (performance.now() - t0) / 1000;
  const data = cfg.data as Record<string, ConfigNode>;
  const classes = ((data.test?.classes ?? cfg.classes) as string[] | undefined) ?? Array.from({ length: net.numClasses }, (_, i) => `class${i}`);
  const n = await drawDetections(image, dets, classes, out, thr);
  for (let i = 0; i < dets.labels.length; i++) {
    const [x1, y1, x2, y2, s] = dets.bboxes.subarray(i * 5, i * 5 + 5);
    if (s >= thr) console.log(`${classes[dets.labels[i]] ?? dets.labels[i]}\t${s.toFixed(3)}\t[${[x1, y1, x2, y2].map((v) => v.toFixed(1)).join(', ')}]`);
  }
  console.log(`${n} detection(s) >= ${thr} drawn to ${out} (inference ${secs.toFixed(2)} s)`);
  return 0;
}
