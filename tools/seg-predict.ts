/**
 * Semantic segmentation of single images with a config + checkpoint:
 *   npx tsx tools/seg-predict.ts --config sem_fpn_litv2_s_ade20k --checkpoint F --img a.jpg [--img b.jpg] [--out-dir D]
 * Writes <stem>_mask.png (palette colours) and <stem>_labels.png (raw class indices, 8-bit) per image.
 */
import * as path from 'node:path';
import { initBackend } from '@litv2/core';
import { buildSegmentor, predictImage, testPipelineFromConfig, writePrediction } from '@litv2/segmentation';
import { engineDeps } from './engine-deps';

function args(argv: string[]): { config?: string; checkpoint?: string; imgs: string[]; outDir: string; cfgOptions: string[] } {
  const out = { config: undefined as string | undefined, checkpoint: undefined as string | undefined, imgs: [] as string[], outDir: 'work_dirs/predict', cfgOptions: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config') out.config = argv[++i];
    else if (a === '--checkpoint') out.checkpoint = argv[++i];
    else if (a === '--img') out.imgs.push(argv[++i]);
    else if (a === '--out-dir') out.outDir = argv[++i];
    else if (a === '--cfg-options') while (argv[i + 1] && !argv[i + 1].startsWith('--')) out.cfgOptions.push(argv[++i]);
    else if (a === '--task') i++;
    else throw new Error(`unknown argument '${a}'`);
  }
  return out;
}

try {
  const a = args(process.argv.slice(2));
  if (!a.config || !a.checkpoint || !a.imgs.length) throw new Error('usage: --config NAME --checkpoint FILE --img IMAGE [--img ...] [--out-dir D]');
  await initBackend();
  const deps = await engineDeps();
  const { cfg, file } = deps.loadConfig(a.config, { cfgOptions: a.cfgOptions });
  const model = buildSegmentor(cfg, file);
  const sd = await deps.loadWeights(a.checkpoint);
  model.loadStateDict(sd, { strict: true });
  Object.values(sd).forEach((t) => t.dispose());
  model.eval();
  const { pipeline, palette } = testPipelineFromConfig(cfg, file);
  for (const img of a.imgs) {
    const t0 = Date.now();
    const p = await predictImage(model, pipeline, img);
    const files = await writePrediction(p, palette, a.outDir, path.basename(img).replace(/\.[^.]+$/, ''));
    console.log(`${img}: ${p.width}x${p.height} in ${Date.now() - t0} ms -> ${files.mask}, ${files.labels}`);
  }
} catch (e) {
  console.error(`seg-predict: ${(e as Error).message}`);
  process.exit(1);
}
