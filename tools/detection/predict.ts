/**
 * Detects objects in one image and draws boxes, labels and scores:
 *   npx nx run detection:predict --config NAME --checkpoint FILE --image IMG --out OUT.png [--score-thr 0.3]
 * (also: npx tsx tools/detection/predict.ts ...). Prints the detections above the threshold.
 */
import * as path from 'node:path';
import { initBackend, type ConfigNode } from '@litv2/core';
import { detectionTask, drawDetections, inferenceDetector, type RetinaNet } from '@litv2/detection';
import { engineDeps, repoRoot } from '../engine-deps';

function arg(argv: string[], name: string, required = true): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0 || i + 1 >= argv.length) {
    if (required) throw new Error(`missing ${name} (usage: --config NAME --checkpoint FILE --image IMG --out OUT.png [--score-thr 0.3] [--cfg-options k=v ...])`);
    return undefined;
  }
  return argv[i + 1];
}

try {
  const argv = process.argv.slice(2).filter((a) => a !== '--task' && a !== 'detection');
  const deps = await engineDeps();
  await initBackend();
  const co = argv.indexOf('--cfg-options');
  const cfgOptions = co >= 0 ? argv.slice(co + 1).filter((a) => !a.startsWith('--')) : [];
  const loaded = deps.loadConfig(arg(argv, '--config')!, { cfgOptions });
  const cfg = loaded.cfg as ConfigNode;
  // Trained weights replace everything; the ImageNet init is not needed.
  const model = (cfg.model as ConfigNode).backbone as ConfigNode;
  model.init_cfg = null;
  const net = (await detectionTask.buildModel(cfg, { configFile: loaded.file, repoRoot, skipBadSamples: false, log: console.log })) as RetinaNet;
  const ckpt = path.resolve(arg(argv, '--checkpoint')!);
  const sd = await deps.loadWeights(ckpt);
  net.loadStateDict(sd, { strict: true });
  const image = path.resolve(arg(argv, '--image')!);
  const out = path.resolve(arg(argv, '--out')!);
  const thr = Number(arg(argv, '--score-thr', false) ?? 0.3);
  const t0 = performance.now();
  const dets = await inferenceDetector(net, cfg, image);
  const secs = (performance.now() - t0) / 1000;
  const data = cfg.data as Record<string, ConfigNode>;
  const classes = ((data.test?.classes ?? cfg.classes) as string[] | undefined) ?? Array.from({ length: net.bboxHead.numClasses }, (_, i) => `class${i}`);
  const n = await drawDetections(image, dets, classes, out, thr);
  for (let i = 0; i < dets.labels.length; i++) {
    const [x1, y1, x2, y2, s] = dets.bboxes.subarray(i * 5, i * 5 + 5);
    if (s >= thr) console.log(`${classes[dets.labels[i]] ?? dets.labels[i]}\t${s.toFixed(3)}\t[${[x1, y1, x2, y2].map((v) => v.toFixed(1)).join(', ')}]`);
  }
  console.log(`${n} detection(s) >= ${thr} drawn to ${out} (inference ${secs.toFixed(2)} s)`);
} catch (e) {
  console.error(`predict: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  process.exit(1);
}
