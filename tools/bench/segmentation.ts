/**
 * `tools/benchmark.ts --task segmentation` (nx: `segmentation:benchmark`): Semantic FPN speed and size, FPS of
 * whole-image inference at 512x512 (batch 1), parameters, FLOPs:
 *   --config sem_fpn_litv2_s_ade20k [--size 512] [--runs 5] [--warmup 1] [--cfg-options k=v ...]
 * Weights are random (speed and size do not depend on them). Paper (LITv2-S): 31 M params, 41 GFLOPs.
 */
import * as tf from '@tensorflow/tfjs';
import { type ConfigNode } from '@litv2/core';
import { initBackend, parseArgs, toolFlags } from '@litv2/core/node';
import { buildSegmentor, flopsInputFromConfig, segmentorParams, semFpnFlops } from '@litv2/segmentation';
import { toolDeps } from '../task_table';

const USAGE = '--config NAME [--size 512] [--runs 5] [--warmup 1] [--cfg-options k=v ...]';

export async function main(argv: string[]): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['config', 'cfg-options', 'size', 'runs', 'warmup'], usage: USAGE });
  const name = f.string('config', { required: true });
  const size = f.number('size', 512, { integer: true, min: 1 });
  const runs = f.number('runs', 5, { integer: true, min: 1 });
  const warmup = f.number('warmup', 1, { integer: true, min: 0 });

  const info = await initBackend();
  const { cfg, file } = toolDeps().loadConfig(name, { cfgOptions: f.cfgOptions });
  const model = buildSegmentor(cfg, file).eval();
  const params = segmentorParams(model);
  const flops = semFpnFlops(flopsInputFromConfig(cfg.model as { neck: ConfigNode; decode_head: ConfigNode }, model.backbone), size, size);
  const img = tf.randomNormal([1, size, size, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
  const meta = { ori_shape: [size, size, 3] as [number, number, number], img_shape: [size, size, 3] as [number, number, number], flip: false };
  const once = () => {
    const pred = tf.tidy(() => model.simpleTest(img, meta, true));
    pred.dataSync();
    pred.dispose();
  };
  for (let i = 0; i < warmup; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) once();
  const ms = (performance.now() - t0) / runs;
  const M = (n: number) => `${(n / 1e6).toFixed(2)} M`;
  const G = (n: number) => `${(n / 1e9).toFixed(2)} G`;
  console.log(`config ${name} on ${info.description}`);
  console.log(`params: ${M(params.total)} (backbone ${M(params.backbone)}, neck ${M(params.neck)}, head ${M(params.head)})`);
  console.log(`FLOPs @${size}x${size}: ${G(flops.total)} (backbone ${G(flops.backbone)}, neck ${G(flops.neck)}, head ${G(flops.head)})`);
  console.log(`inference @${size}x${size}: ${ms.toFixed(0)} ms/img, ${(1000 / ms).toFixed(2)} FPS (batch 1, ${runs} runs after ${warmup} warm-up)`);
  img.dispose();
  model.dispose();
  return 0;
}
