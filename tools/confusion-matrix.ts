/** Entry of `detection:confusion-matrix`; the tool lives in tools/analysis/confusion_matrix.ts. */
import { exitCodeOf, initBackend } from '@litv2/core/node';
import { main } from './analysis/confusion_matrix';

let code: number;
try {
  await initBackend({ quiet: true });
  code = await main(process.argv.slice(2));
} catch (e) {
  console.error(`confusion-matrix: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  code = exitCodeOf(e);
}
process.exit(code);
