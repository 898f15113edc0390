/**
 * `tools/predict.ts --task segmentation` (nx: `segmentation:predict`), semantic segmentation of images:
 *   --config sem_fpn_litv2_s_ade20k --checkpoint FILE --image IMG --out OUT.png
 *       colour mask to OUT (.png, .jpg or .webp, as its extension says), raw class indices (8-bit PNG) to OUT_labels.png
 *   --config ... --checkpoint FILE --image a.jpg --image b.jpg [--out-dir D]
 *       <stem>_mask.png and <stem>_labels.png per image in D (default work_dirs/predict)
 *   [--cfg-options k=v ...]
 * An image that fails is reported by path and skipped; the others are still written, and the exit status is 1.
 * `eval-miou --pred D` reads the `<stem>_labels.png` files as the predictions of GT `<stem>.png`.
 */
import * as path from 'node:path';
import { initBackend, parseArgs, toolFlags } from '@litv2/core/node';
import { buildSegmentor, predictImage, testPipelineFromConfig, writePrediction, writePredictionFiles } from '@litv2/segmentation';
import { toolDeps } from '../task_table';

const USAGE = '--config NAME --checkpoint FILE --image IMG (--out OUT.png | [--image IMG ...] [--out-dir D]) [--cfg-options k=v ...]';

export async function main(argv: string[]): Promise<number> {
  const f = toolFlags(parseArgs(argv), { allowed: ['config', 'checkpoint', 'cfg-options', 'image', 'out', 'out-dir'], usage: USAGE });
  const config = f.string('config', { required: true });
  const checkpoint = f.string('checkpoint', { required: true });
  const images = f.strings('image', { required: true });
  const out = f.string('out');
  const outDir = f.string('out-dir');
  if (out !== undefined && outDir !== undefined) f.fail('give --out OUT.png (one image) or --out-dir D, not both');
  if (out !== undefined && !/\.(png|jpe?g|webp)$/i.test(out)) f.fail(`--out must name a .png, .jpg or .webp file (got '${out}')`);
  if (out !== undefined && images.length > 1) f.fail(`--out names one file but ${images.length} images were given; use --out-dir D`);

  await initBackend();
  const deps = toolDeps();
  const { cfg, file } = deps.loadConfig(config, { cfgOptions: f.cfgOptions });
  const model = buildSegmentor(cfg, file);
  const sd = await deps.loadWeights(checkpoint);
  model.loadStateDict(sd, { strict: true });
  Object.values(sd).forEach((t) => t.dispose());
  model.eval();
  const { pipeline, palette } = testPipelineFromConfig(cfg, file);
  // One unreadable or unusable image is reported by path and the rest still run; the exit status says so.
  const failed: string[] = [];
  for (const img of images) {
    const t0 = Date.now();
    try {
      const p = await predictImage(model, pipeline, img);
      const files = out !== undefined
        ? await writePredictionFiles(p, palette, { mask: out, labels: out.replace(/\.[^./\\]+$/, '_labels.png') })
        : await writePrediction(p, palette, outDir ?? 'work_dirs/predict', path.basename(img).replace(/\.[^.]+$/, ''));
      console.log(`${img}: ${p.width}x${p.height} in ${Date.now() - t0} ms -> ${files.mask}, ${files.labels}`);
    } catch (e) {
      failed.push(img);
      console.error(`${img}: failed: ${(e as Error).message}`);
      if (process.env.LITV2_DEBUG) console.error(e);
    }
  }
  model.dispose();
  if (failed.length) {
    console.error(`predict: ${failed.length} of ${images.length} image(s) failed: ${failed.join(', ')}`);
    return 1;
  }
  return 0;
}
