/** Process entry of the coco-eval bin (see bin/coco-eval.mjs). */
import { cocoEvalMain } from './cli';

process.exitCode = cocoEvalMain(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});
