/**
 * Inference FPS at 1333×800, parameters and FLOPs of a detector (default retinanet_litv2_s_ws4):
 *   npx nx run detection:benchmark [--config NAME] [--iters 3] [--size 1333x800] [--train-batch 2]
 * With --train-batch N it also times training iterations (forward + backward, batch N).
 * Weights are random (speed and counts do not depend on them); FLOPs are analytic (see retinanetFlops).
 */
import { initBackend, type ConfigNode } from '@litv2/core';
import { benchmarkDetector, benchmarkTrainStep, buildDetector, type RetinaNet } from '@litv2/detection';
import { engineDeps } from '../engine-deps';

const argv = process.argv.slice(2);
const get = (n: string, d: string) => {
  const i = argv.indexOf(n);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : d;
};
try {
  const info = await initBackend();
  const deps = await engineDeps();
  const name = get('--config', 'retinanet_litv2_s_ws4');
  const loaded = deps.loadConfig(name, {});
  const modelCfg = { ...(loaded.cfg.model as ConfigNode) };
  modelCfg.backbone = { ...(modelCfg.backbone as ConfigNode), init_cfg: null };
  const model = buildDetector(modelCfg, loaded.file) as RetinaNet;
  const [w, h] = get('--size', '1333x800').split('x').map(Number);
  console.log(`${name} on ${info.description}: ${w}x${h} input`);
  const r = await benchmarkDetector(model, modelCfg as never, { h, w, iters: Number(get('--iters', '3')), log: console.log });
  console.log(`params: ${(r.params / 1e6).toFixed(2)} M (${r.params})`);
  console.log(`FLOPs at ${r.flops.atHW[1]}x${r.flops.atHW[0]}: ${(r.flops.total / 1e9).toFixed(1)} G (backbone ${(r.flops.backbone / 1e9).toFixed(1)}, neck ${(r.flops.neck / 1e9).toFixed(1)}, head ${(r.flops.head / 1e9).toFixed(1)})`);
  const tb = Number(get('--train-batch', '0'));
  if (tb > 0) {
    const t = await benchmarkTrainStep(model, { h, w, batch: tb, iters: Number(get('--iters', '3')), log: console.log });
    console.log(`training iteration (batch ${tb}, forward + backward, no optimizer step): ${t.secondsPerIter.toFixed(2)} s (median of ${t.runs.length})`);
  }
  console.log(`inference (padded ${r.paddedHW[1]}x${r.paddedHW[0]}, batch 1, incl. NMS): ${r.secondsPerImage.toFixed(2)} s/img = ${r.fps.toFixed(3)} FPS (median of ${r.runs.length})`);
} catch (e) {
  console.error(`benchmark: ${(e as Error).message}`);
  process.exit(1);
}
