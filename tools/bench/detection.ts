/**
 * `tools/benchmark.ts --task detection` (nx: `detection:benchmark`): inference FPS at 1333×800, parameters and
 * FLOPs of a detector (default retinanet_litv2_s_ws4):
 *   [--config NAME] [--iters 3] [--size 1333x800] [--train-batch 2] [--cfg-options k=v ...]
 * With --train-batch N it also times training iterations (forward + backward, batch N).
 * Weights are random (speed and counts do not depend on them); FLOPs are analytic (see retinanetFlops).
 */
import { type ConfigNode } from '@litv2/core';
import { initBackend, parseArgs, toolFlags } from '@litv2/core/node';
import { benchmarkDetector, benchmarkTrainStep, buildDetector, type Detector } from '@litv2/detection';
import { toolDeps } from '../task_table';

const USAGE = '[--config NAME] [--size 1333x800] [--iters 3] [--train-batch N] [--cfg-options k=v ...]';

export async function main(argv: string[]): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['config', 'cfg-options', 'size', 'iters', 'train-batch'], usage: USAGE });
  const name = f.string('config') ?? 'retinanet_litv2_s_ws4';
  const size = f.string('size') ?? '1333x800';
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) f.fail(`--size expects WIDTHxHEIGHT, e.g. 1333x800 (got '${size}')`);
  const [w, h] = [Number(m![1]), Number(m![2])];
  const iters = f.number('iters', 3, { integer: true, min: 1 });
  const tb = f.number('train-batch', 0, { integer: true, min: 0 });

  const info = await initBackend();
  const loaded = toolDeps().loadConfig(name, { cfgOptions: f.cfgOptions });
  const modelCfg = { ...(loaded.cfg.model as ConfigNode) };
  modelCfg.backbone = { ...(modelCfg.backbone as ConfigNode), init_cfg: null };
  const model = buildDetector(modelCfg, loaded.file) as Detector;
  console.log(`${name} on ${info.description}: ${w}x${h} input`);
  const r = await benchmarkDetector(model, modelCfg as never, { h, w, iters, log: console.log });
  console.log(`params: ${(r.params / 1e6).toFixed(2)} M (${r.params})`);
  console.log(`FLOPs at ${r.flops.atHW[1]}x${r.flops.atHW[0]}: ${(r.flops.total / 1e9).toFixed(1)} G (backbone ${(r.flops.backbone / 1e9).toFixed(1)}, neck ${(r.flops.neck / 1e9).toFixed(1)}, head ${(r.flops.head / 1e9).toFixed(1)})`);
  if (tb > 0) {
    const t = await benchmarkTrainStep(model, { h, w, batch: tb, iters, log: console.log });
    console.log(`training iteration (batch ${tb}, forward + backward, no optimizer step): ${t.secondsPerIter.toFixed(2)} s (median of ${t.runs.length})`);
  }
  console.log(`inference (padded ${r.paddedHW[1]}x${r.paddedHW[0]}, batch 1, incl. NMS): ${r.secondsPerImage.toFixed(2)} s/img = ${r.fps.toFixed(3)} FPS (median of ${r.runs.length})`);
  return 0;
}
