/** Command-line options of tools/make-synthetic.ts (kept here so tests can call it). */
import { makeSynthetic, type SyntheticOptions } from './synthetic';

export { makeSynthetic };

const FLAGS: Record<string, keyof SyntheticOptions> = {
  '--out': 'out',
  '--seed': 'seed',
  '--num-train': 'numTrain',
  '--num-val': 'numVal',
  '--size': 'size',
  '--num-classes': 'numClasses',
  '--min-objects': 'minObjects',
  '--max-objects': 'maxObjects',
  '--min-scale': 'minScale',
  '--max-scale': 'maxScale',
};

export function parseSyntheticArgs(argv: string[]): SyntheticOptions {
  const o: SyntheticOptions = { out: 'data/synthetic' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const key = FLAGS[flag];
    if (!key) throw new Error(`make-synthetic: unknown option '${flag}' (known: ${Object.keys(FLAGS).join(', ')})`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`make-synthetic: ${flag} needs a value`);
    if (key === 'out') o.out = v;
    else {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`make-synthetic: ${flag} must be a number, got '${v}'`);
      (o as unknown as Record<string, number>)[key] = n;
    }
  }
  return o;
}
