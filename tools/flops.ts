/**
 * Parameters and analytic FLOPs (the official counting, SPEC §5) of the LITv2 classifiers:
 *   npx tsx tools/flops.ts [--size s|m|b|all] [--ws 2] [--img 224] [--alpha 0.9]
 * Numbers come from building the model (parameters) and the closed-form count (FLOPs); no forward pass.
 */
import { LITv2, litv2Preset, litv2Flops, type LITv2Size } from '@litv2/core';
import { initBackend } from '@litv2/core/node';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const sizeArg = opt('size', 'all');
const sizes: LITv2Size[] = sizeArg === 'all' ? ['s', 'm', 'b'] : [sizeArg as LITv2Size];
const ws = Number(opt('ws', '2'));
const img = Number(opt('img', '224'));
const alpha = Number(opt('alpha', '0.9'));

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
