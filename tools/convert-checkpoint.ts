/**
 * Official LITv2 checkpoint -> our checkpoint format, with a key report against the chosen model:
 *   npx tsx tools/convert-checkpoint.ts litv2_s.pth work_dirs/litv2_s.ckpt --size s [--variant cls|det|seg] [--prefix backbone.]
 *     [--arch '{"embed_dim": 48, "depths": [1, 1, 2, 1]}']   (overrides on top of the size preset)
 * Accepts classification `{'model': ...}` files and mmdet/mmseg `state_dict`s (`backbone.` prefix found
 * automatically for det/seg). Exits 1 when no key matched.
 */
import { convertLITv2Checkpoint, initBackend, type ConvertOptions } from '@litv2/core/node';

const argv = process.argv.slice(2);
const USAGE = 'usage: convert-checkpoint <input.pth> <output> [--size s|m|b] [--variant cls|det|seg] [--prefix P] [--num-classes N] [--arch JSON]';
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const pos: string[] = [];
const o: Partial<ConvertOptions> = { size: 's', variant: 'cls' };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => {
    const v = argv[++i];
    if (v === undefined) {
      console.error(`convert-checkpoint: ${a} needs a value\n${USAGE}`);
      process.exit(2);
    }
    return v;
  };
  if (a === '--size') o.size = next() as ConvertOptions['size'];
  else if (a === '--variant') o.variant = next() as ConvertOptions['variant'];
  else if (a === '--prefix') o.prefix = next();
  else if (a === '--num-classes') o.numClasses = Number(next());
  else if (a === '--arch') {
    const text = next();
    try {
      o.arch = JSON.parse(text) as ConvertOptions['arch'];
    } catch {
      console.error(`convert-checkpoint: --arch must be a JSON object, got '${text}'`);
      process.exit(2);
    }
  }
  else if (a.startsWith('--')) {
    console.error(`convert-checkpoint: unknown option ${a}`);
    process.exit(2);
  } else pos.push(a);
}
if (pos.length !== 2 || !['s', 'm', 'b'].includes(o.size!) || !['cls', 'det', 'seg'].includes(o.variant!)) {
  console.error(`convert-checkpoint: ${pos.length !== 2 ? 'give an input and an output file' : `--size must be s, m or b and --variant cls, det or seg`}\n${USAGE}`);
  process.exit(2);
}
await initBackend({ quiet: true });
try {
  const r = await convertLITv2Checkpoint({ ...(o as ConvertOptions), input: pos[0], output: pos[1] });
  console.log(`wrote ${r.output}: ${r.converted} tensors${r.prefix ? ` (prefix '${r.prefix}' stripped)` : ''}`);
  console.log(`missing keys (${r.missingKeys.length}): ${r.missingKeys.join(', ') || '-'}`);
  console.log(`unexpected keys (${r.unexpectedKeys.length}): ${r.unexpectedKeys.join(', ') || '-'}`);
  process.exit(r.converted > 0 ? 0 : 1);
} catch (e) {
  console.error(`convert-checkpoint: ${(e as Error).message}`);
  process.exit(1);
}
