/**
 * Writes the built-in synthetic dataset (COCO detection + mmseg segmentation layouts).
 *   npx tsx tools/make-synthetic.ts [--out data/synthetic] [--seed 0] [--num-train 600] [--num-val 100]
 *     [--size 128] [--num-classes 4] [--min-objects 1] [--max-objects 4] [--min-scale 0.15] [--max-scale 0.45]
 * Re-running with the same options does nothing (stamp file).
 */
import { makeSynthetic, parseSyntheticArgs } from '../packages/core/src/data/synthetic_cli';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(
    'usage: make-synthetic [--out data/synthetic] [--seed 0] [--num-train 600] [--num-val 100] [--size 128] [--num-classes 4]\n' +
      '  [--min-objects 1] [--max-objects 4] [--min-scale 0.15] [--max-scale 0.45]',
  );
  process.exit(0);
}
try {
  const opts = parseSyntheticArgs(process.argv.slice(2));
  const t0 = Date.now();
  const made = await makeSynthetic(opts, (l) => console.log(l));
  console.log(made ? `wrote ${opts.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `${opts.out} already up to date`);
} catch (e) {
  // parseSyntheticArgs' messages already start with 'make-synthetic:'
  console.error((e as Error).message.startsWith('make-synthetic:') ? (e as Error).message : `make-synthetic: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  process.exit(1);
}
