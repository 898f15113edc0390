/**
 * Parameters and analytic FLOPs (the official counting, SPEC §5) of the LITv2 classifiers:
 *   npx tsx tools/flops.ts [--size s|m|b|all] [--ws 2] [--img 224] [--alpha 0.9]
 * Numbers come from building the model (parameters) and the closed-form count (FLOPs); no forward pass.
 */
import { LITv2, litv2Preset, litv2Flops, type LITv2Size } from '@litv2/core';
import { initBackend, parseArgs, reportToolError, toolFlags, UsageError } from '@litv2/core/node';

const USAGE = 'flops [--size s|m|b|all] [--ws 2] [--img 224] [--alpha 0.9]';
let sizes: LITv2Size[];
let ws: number;
let img: number;
let alpha: number;
try {
  const f = toolFlags(parseArgs(process.argv.slice(2)), { allowed: ['size', 'ws', 'img', 'alpha'], usage: USAGE });
  const sizeArg = f.string('size') ?? 'all';
  if (!['s', 'm', 'b', 'all'].includes(sizeArg)) throw new UsageError(`--size must be s, m, b or all (got '${sizeArg}'); usage: ${USAGE}`);
  sizes = sizeArg === 'all' ? ['s', 'm', 'b'] : [sizeArg as LITv2Size];
  ws = f.number('ws', 2, { integer: true, min: 1 });
  img = f.number('img', 224, { integer: true, min: 32 });
  alpha = f.number('alpha', 0.9, { min: 0 });
  if (alpha > 1) f.fail(`--alpha must be in [0, 1] (got ${alpha})`);
} catch (e) {
  process.exit(reportToolError('flops', e));
}

await initBackend({ quiet: true });
console.log(`image ${img}x${img}, stage-3 window ${ws}, alpha ${alpha}`);
console.log('model     params        FLOPs (G)   patch_embed  stage1     stage2     stage3     stage4     DTMs       head');
for (const size of sizes) {
  const p = { ...litv2Preset(size, { ws }), alpha };
  const m = new LITv2({ ...p, img_size: img }, { init: false });
  const f = litv2Flops({ imgSize: img, embedDim: p.embed_dim, depths: p.depths, numHeads: p.num_heads, alpha, localWs: p.local_ws });
  const g = (v: number) => (v / 1e9).toFixed(3).padStart(9);
  console.log(
    `LITv2-${size.toUpperCase()}  ${m.numParameters().toLocaleString('en-US').padStart(11)}  ${g(f.total)}   ${g(f.patchEmbed)}  ${f.stages.map((s) => g(s.blocks)).join('  ')}  ${g(f.stages.reduce((a, s) => a + s.dtm, 0))}  ${g(f.head)}`,
  );
  m.dispose();
}
