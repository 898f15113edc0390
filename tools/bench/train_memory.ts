/**
 * Memory and time of detector training iterations (forward + backward + AdamW step) on random images:
 *   npx tsx tools/bench/train_memory.ts [--config retinanet_litv2_s_ws4] [--size 1333x800] [--batch 2] [--iters 2]
 *     [--tape] [--modules] [--tfjs-grads]
 * Prints per iteration: seconds, peak RSS so far, RSS / native pool / tf.memory() at the loss (the forward's
 * peak) and after the step. tf.memory().numBytes counts every tensor handle, so views and the tape's saved
 * clones are counted twice; --tape lists the bytes the gradient tape really keeps (each buffer once) by
 * kernel, --modules by model part. --tfjs-grads uses tf.variableGrads instead of variableGradsLean.
 * Weights are random (init_cfg=null).
 */
import * as tf from '@tensorflow/tfjs';
import { buildOptimizer, variableGradsLean, type ConfigNode } from '@litv2/core';
import { initBackend, nativePoolStats } from '@litv2/core/node';
import { buildDetector, type DetBatch, type SingleStageDetector } from '@litv2/detection';
import { toolDeps } from '../task_table';

const argv = process.argv.slice(2);
const get = (n: string, d: string) => {
  const i = argv.indexOf(n);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : d;
};
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const info = await initBackend();
const name = get('--config', 'retinanet_litv2_s_ws4');
const loaded = toolDeps().loadConfig(name, {});
const modelCfg = { ...(loaded.cfg.model as ConfigNode) };
modelCfg.backbone = { ...(modelCfg.backbone as ConfigNode), init_cfg: null };
const model = buildDetector(modelCfg, loaded.file) as unknown as SingleStageDetector;
const opt = buildOptimizer(model, loaded.cfg.optimizer as ConfigNode, loaded.file);
const [w, h] = get('--size', '1333x800').split('x').map(Number);
const bs = Number(get('--batch', '2'));
const iters = Number(get('--iters', '2'));
console.log(`${name} on ${info.description}: batch ${bs} at ${w}x${h}; after build: RSS ${mb(process.memoryUsage().rss)}, tensors ${mb(tf.memory().numBytes)}`);

const ph = Math.ceil(h / 32) * 32;
const pw = Math.ceil(w / 32) * 32;
const meta = { ori_shape: [h, w, 3], img_shape: [h, w, 3], pad_shape: [ph, pw, 3], scale_factor: [1, 1, 1, 1] };
const imgs = tf.tidy(() => tf.pad(tf.randomNormal([bs, h, w, 3], 0, 1, 'float32', 2), [[0, 0], [0, ph - h], [0, pw - w], [0, 0]])) as tf.Tensor4D;
const gtBoxes = Array.from({ length: bs }, () => tf.tensor2d([[0.1 * w, 0.1 * h, 0.4 * w, 0.5 * h], [0.5 * w, 0.2 * h, 0.9 * w, 0.6 * h], [0.3 * w, 0.6 * h, 0.5 * w, 0.9 * h]]));
const gtLabels = Array.from({ length: bs }, () => tf.tensor1d([0, 1, 2], 'int32'));
const batch = { imgs, metas: Array(bs).fill(meta), gt_bboxes: gtBoxes, gt_labels: gtLabels, gt_bboxes_ignore: [], samples: [] } as unknown as DetBatch;
/** Bytes the gradient tape keeps alive, by the kernel that saved them (each buffer counted once). */
function tapeReport(): void {
  const tape = (tf.engine() as unknown as { state: { activeTape: { kernelName: string; saved?: tf.Tensor[]; inputs: Record<string, tf.Tensor>; outputs: tf.Tensor[] }[] } }).state.activeTape;
  const seen = new Set<object>();
  const by = new Map<string, { bytes: number; n: number; shapes: Map<string, number> }>();
  for (const node of tape) {
    for (const t of node.saved ?? []) {
      if (t.isDisposed || seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      const e = by.get(node.kernelName) ?? { bytes: 0, n: 0, shapes: new Map() };
      const b = t.size * (t.dtype === 'float32' || t.dtype === 'int32' ? 4 : 1);
      e.bytes += b;
      e.n++;
      const k = `${t.dtype}[${t.shape}]`;
      e.shapes.set(k, (e.shapes.get(k) ?? 0) + b);
      by.set(node.kernelName, e);
    }
  }
  const kernels = new Map<string, number>();
  for (const node of tape) kernels.set(node.kernelName, (kernels.get(node.kernelName) ?? 0) + 1);
  let total = 0;
  for (const [k, e] of [...by].sort((a, b) => b[1].bytes - a[1].bytes)) {
    total += e.bytes;
    const top = [...e.shapes].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([s, b]) => `${s} ${mb(b)}`).join(', ');
    console.log(`  ${k} (${kernels.get(k)} nodes): ${mb(e.bytes)} in ${e.n} buffers; ${top}`);
  }
  console.log(`  tape: ${tape.length} nodes, saved ${mb(total)}`);
  // Live tensors in the open tidy scopes that no tape node saved: forward garbage not yet disposed.
  const scopes = (tf.engine() as unknown as { state: { scopeStack: { name: string; track: tf.Tensor[] }[] } }).state.scopeStack;
  let vb = 0;
  for (const v of Object.values(tf.engine().registeredVariables)) if (!seen.has(v.dataId)) { seen.add(v.dataId); vb += v.size * 4; }
  let sb = 0;
  for (const sc of scopes) for (const t of sc.track) if (!t.isDisposed && !seen.has(t.dataId)) sb += t.size * 4;
  console.log(`  variables not saved ${mb(vb)}, scopes ${scopes.length} unsaved ${mb(sb)}, tf.memory ${mb(tf.memory().numBytes)}`);
  for (const sc of scopes) {
    const shapes = new Map<string, number>();
    let n = 0;
    for (const t of sc.track) {
      if (t.isDisposed || seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      const k = `${t.dtype}[${t.shape}]`;
      shapes.set(k, (shapes.get(k) ?? 0) + t.size * 4);
      n += t.size * 4;
    }
    if (n > 2 ** 20) console.log(`  scope ${sc.name}: ${mb(n)} unsaved live; ${[...shapes].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, b]) => `${k} ${mb(b)}`).join(', ')}`);
  }
}
/** Buffers saved on the tape so far (each counted once). */
function savedBytes(): number {
  const tape = (tf.engine() as unknown as { state: { activeTape?: { saved?: tf.Tensor[] }[] } }).state.activeTape ?? [];
  const seen = new Set<object>();
  let n = 0;
  for (const node of tape) for (const t of node.saved ?? []) if (!t.isDisposed && !seen.has(t.dataId) && !(t as tf.Variable).trainable) { seen.add(t.dataId); n += t.size * 4; }
  return n;
}
/** With --modules: per-call growth of the tape's saved bytes for the main parts of the model. */
const perModule = new Map<string, number>();
function wrap(obj: object, method: string, label: string): void {
  const o = obj as Record<string, (...a: unknown[]) => unknown>;
  const f = o[method].bind(obj);
  o[method] = (...a: unknown[]) => {
    const b0 = savedBytes();
    const r = f(...a);
    perModule.set(label, (perModule.get(label) ?? 0) + savedBytes() - b0);
    return r;
  };
}
if (argv.includes('--modules')) {
  const bb = model.backbone as unknown as { patch_embed: object; layers: { items: { blocks: { items: object[] }; downsample?: object }[] } };
  wrap(bb.patch_embed, 'forward', 'patch_embed');
  bb.layers.items.forEach((l, i) => {
    l.blocks.items.forEach((blk) => {
      const b = blk as { attn?: object; mlp: object; norm2: object };
      wrap(blk, 'forward', `stage${i} block`);
      if (b.attn) wrap(b.attn, 'forward', `stage${i} attn`);
      wrap(b.mlp, 'forward', `stage${i} mlp`);
    });
    if (l.downsample) wrap(l.downsample, 'forward', `stage${i} DTM`);
  });
  wrap(model.backbone, 'forward', 'backbone');
  wrap(model.neck, 'forward', 'neck');
  wrap(model.bboxHead, 'forward', 'head');
  wrap(model.bboxHead, 'loss', 'loss');
}
const nameOf = new Map(opt.params.map((p) => [p.variable.name, p.name]));
model.train();
for (let i = 0; i < iters; i++) {
  const t0 = performance.now();
  let atLoss = { numBytes: 0, numTensors: 0 };
  let poolAtLoss = 0;
  let rssAtLoss = 0;
  const { value, grads } = (argv.includes("--tfjs-grads") ? tf.variableGrads : variableGradsLean)(() => {
    const loss = tf.addN(Object.values(model.forwardTrain(batch))) as tf.Scalar;
    atLoss = tf.memory();
    poolAtLoss = nativePoolStats().pooledMB;
    rssAtLoss = process.memoryUsage().rss;
    if (argv.includes('--tape')) tapeReport();
    return loss;
  }, opt.params.map((p) => p.variable));
  const tFwdBwd = performance.now() - t0;
  const byName: Record<string, tf.Tensor> = {};
  for (const [vn, g] of Object.entries(grads)) byName[nameOf.get(vn)!] = g;
  opt.step(byName);
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  const s = (performance.now() - t0) / 1000;
  const m = tf.memory();
  for (const [k, v] of perModule) console.log(`  ${k}: ${mb(v)} saved`);
  perModule.clear();
  console.log(
    `iter ${i + 1}: ${s.toFixed(2)} s (fwd+bwd ${(tFwdBwd / 1000).toFixed(2)}), loss ${loss.toFixed(4)}, peak RSS ${mb(peakRss())}, RSS ${mb(process.memoryUsage().rss)}, ` +
      `at loss: RSS ${mb(rssAtLoss)}, pool ${poolAtLoss.toFixed(0)} MB, ${mb(atLoss.numBytes)} in ${atLoss.numTensors} tensors, after ${mb(m.numBytes)} in ${m.numTensors}, pool ${nativePoolStats().pooledMB.toFixed(0)} MB (hits ${nativePoolStats().hits}, misses ${nativePoolStats().misses})`,
  );
}
