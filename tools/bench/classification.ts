/**
 * `tools/benchmark.ts --task classification` (nx: `classification:benchmark`): the authors' throughput table for
 * every registered classifier: images/s of inference (median of --runs timed batches after --warmup), parameters,
 * FLOPs (each family's own count, at the model's input size) and peak tensor memory of one batch (tf.profile).
 *   [--models litv2_s,levit_128s,...] [--bs 8] [--runs 5] [--warmup 1] [--unfused] [--json FILE]
 * Rows (default: all): LITv2-S/M/B at 224 (configs/classification/litv2_{s,m,b}.yaml) and LITv2-B at 384,
 * LeViT-128S/128/192/256/384, EfficientViT-M0..M5. LeViT and EfficientViT run in their BN-folded inference form
 * (as the authors' speed tests) unless --unfused; parameters are counted on the training form, as published. Weights are random (speed does not depend on them).
 * The load average before and after is printed: the machine may be shared.
 *
 * `--pipeline CONFIG` measures instead whether the input pipeline keeps up with training: images/s of the
 * config's training DataLoader alone (decode, augmentation, collate with Mixup/CutMix; prefetch as in
 * training) against images/s of the training step alone (forward, backward, optimizer) on one batch.
 *   --pipeline litv2_tiny_synthetic [--bs 32] [--batches 20] [--cfg-options ...]
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { CLS_BACKBONES, DataLoader, EfficientViT, LeViT, buildOptimizer, variableGradsLean, type ClassificationNet, type ConfigNode, type Sample } from '@litv2/core';
import { buildClassifierModel, buildClsDatasetFromConfig, collateClassification, type ClsBatch } from '@litv2/classification';
import { initBackend, parseArgs, toolFlags } from '@litv2/core/node';
import { toolDeps } from '../task_table';
import { loadAvg, peakRssMiB, timeIt } from './timing';

const USAGE = '[--pipeline CONFIG [--batches 20] [--cfg-options ...]] [--models litv2_s,levit_128s,efficientvit_m0,...] [--bs 8] [--runs 5] [--warmup 1] [--unfused] [--json FILE]';

interface Row {
  model: string;
  input: number;
  batch: number;
  img_s: number;
  median_ms: number;
  params: number;
  flops: number;
  peak_mib: number;
}

/** The benchmark's models by row name: how to build each (random weights). */
function catalogue(): Record<string, () => ClassificationNet> {
  const litv2 = (size: 's' | 'm' | 'b', img: number) => () => {
    const { cfg, file } = toolDeps().loadConfig(`litv2_${size}`, {});
    const bb = ((cfg.model as ConfigNode).backbone ?? {}) as ConfigNode;
    return CLS_BACKBONES.build({ ...bb, img_size: img }, { init: false }, { file, path: 'model.backbone' });
  };
  const out: Record<string, () => ClassificationNet> = {
    litv2_s: litv2('s', 224),
    litv2_m: litv2('m', 224),
    litv2_b: litv2('b', 224),
    litv2_b_384: litv2('b', 384),
  };
  for (const n of ['128S', '128', '192', '256', '384']) out[`levit_${n.toLowerCase()}`] = () => CLS_BACKBONES.build({ type: `LeViT_${n}` });
  for (let i = 0; i <= 5; i++) out[`efficientvit_m${i}`] = () => CLS_BACKBONES.build({ type: `EfficientViT_M${i}` });
  return out;
}

/** Input pipeline alone vs the training step alone, on a config's training split. */
async function pipelineVsStep(name: string, bs: number, batches: number, cfgOptions: string[]): Promise<number> {
  const info = await initBackend();
  const { cfg, file } = toolDeps().loadConfig(name, { cfgOptions });
  const ctx = { repoRoot: toolDeps().repoRoot, log: (l: string) => console.log(l), configFile: file };
  const ds = await buildClsDatasetFromConfig(cfg, 'train', ctx);
  const loader = new DataLoader<ClsBatch>(ds, { batchSize: bs, shuffle: true, seed: 0, dropLast: true, collate: (s: Sample[]) => collateClassification(s, true) });
  console.log(`config ${name} on ${info.description}; batch ${bs}; load average ${loadAvg().join(' ')}`);
  let n = 0;
  let first: ClsBatch | undefined;
  const t0 = performance.now();
  for await (const b of loader.batches(0)) {
    if (!first) first = b;
    else tf.dispose([b.imgs, b.targets!]);
    if (++n >= batches) break;
  }
  const pipeS = (performance.now() - t0) / 1000;
  const model = buildClassifierModel(cfg, file);
  const opt = buildOptimizer(model, (cfg.optimizer ?? { type: 'AdamW', lr: 1e-3 }) as ConfigNode, file);
  const vars = opt.params.map((p) => p.variable);
  const nameOf = new Map(opt.params.map((p) => [p.variable.name, p.name]));
  const step = () => {
    const { value, grads } = variableGradsLean(() => model.forwardTrain(first!).loss_cls, vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [vn, g] of Object.entries(grads)) named[nameOf.get(vn)!] = g;
    opt.step(named);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  model.train();
  const t = await timeIt(step, 5, 1);
  const pipe = (n * bs) / pipeS;
  const train = bs / t.median_s;
  console.log(`input pipeline alone: ${pipe.toFixed(1)} img/s (${n} batches in ${pipeS.toFixed(2)} s, prefetch 2, decoding in sharp's threads)`);
  console.log(`training step alone:  ${train.toFixed(1)} img/s (median of 5 steps, ${(t.median_s * 1000).toFixed(0)} ms/batch)`);
  console.log(`pipeline / step = ${(pipe / train).toFixed(2)}: ${pipe >= train ? 'the pipeline keeps up' : 'the pipeline is the bottleneck'}; load average ${loadAvg().join(' ')}`);
  tf.dispose([first!.imgs, first!.targets!]);
  model.dispose();
  opt.dispose();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['models', 'bs', 'runs', 'warmup', 'unfused', 'json', 'pipeline', 'batches', 'cfg-options'], usage: USAGE });
  const pipeCfg = f.string('pipeline');
  if (pipeCfg) return pipelineVsStep(pipeCfg, f.number('bs', 32, { integer: true, min: 1 }), f.number('batches', 20, { integer: true, min: 1 }), f.cfgOptions);
  const cat = catalogue();
  const names = (f.string('models') ?? Object.keys(cat).join(',')).split(',').filter(Boolean);
  for (const n of names) if (!cat[n]) f.fail(`--models: unknown model '${n}' (known: ${Object.keys(cat).join(', ')})`);
  const batch = f.number('bs', 8, { integer: true, min: 1 });
  const runs = f.number('runs', 5, { integer: true, min: 1 });
  const warmup = f.number('warmup', 1, { integer: true, min: 0 });
  const unfused = f.bool('unfused');
  const jsonOut = f.string('json');

  const info = await initBackend();
  const load0 = loadAvg();
  console.log(`classification throughput on ${info.description}; batch ${batch}, median of ${runs} runs after ${warmup} warm-up; load average ${load0.join(' ')}`);
  const rows: Row[] = [];
  for (const name of names) {
    let net = cat[name]();
    // Parameters as published: the training form (BN layers counted), before any folding.
    const params = net.numParameters();
    if (!unfused && (net instanceof LeViT || net instanceof EfficientViT)) {
      const fused = net.fuse();
      net.dispose();
      net = fused;
    }
    net.eval();
    const s = net.imgSize;
    const x = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
    const once = () => {
      const y = net.forward(x);
      y.dataSync();
      y.dispose();
    };
    const t = await timeIt(once, runs, warmup);
    const prof = await tf.profile(once);
    const row: Row = {
      model: name,
      input: s,
      batch,
      img_s: batch / t.median_s,
      median_ms: t.median_s * 1000,
      params,
      flops: net.flops(),
      peak_mib: prof.peakBytes / 2 ** 20,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(16)} ${String(s).padStart(4)}  ${row.img_s.toFixed(1).padStart(8)} img/s  ${row.median_ms.toFixed(0).padStart(7)} ms/batch  ` +
        `${(row.params / 1e6).toFixed(2).padStart(6)} M params  ${(row.flops / 1e9).toFixed(3).padStart(7)} GFLOPs  peak ${row.peak_mib.toFixed(0).padStart(5)} MiB`,
    );
    x.dispose();
    net.dispose();
  }
  console.log(`load average after: ${loadAvg().join(' ')}; peak RSS ${peakRssMiB()} MiB`);
  console.log('\n| model | input | img/s | params (M) | FLOPs (G) | peak tensor memory (MiB) |\n| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.model} | ${r.input} | ${r.img_s.toFixed(1)} | ${(r.params / 1e6).toFixed(2)} | ${(r.flops / 1e9).toFixed(3)} | ${r.peak_mib.toFixed(0)} |`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ backend: info.description, batch, runs, warmup, load_before: load0, load_after: loadAvg(), rows }, null, 2) + '\n');
  return 0;
}
