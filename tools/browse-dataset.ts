/** Entry of `<task>:browse-dataset`; the tool lives in tools/analysis/browse_dataset.ts. */
import { exitCodeOf } from '@litv2/core/node';
import { main } from './analysis/browse_dataset';

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (e) {
  console.error(`browse-dataset: ${(e as Error).message}`);
  if (process.env.LITV2_DEBUG) console.error(e);
  code = exitCodeOf(e);
}
process.exit(code);
