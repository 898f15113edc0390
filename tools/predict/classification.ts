/**
 * `tools/predict.ts --task classification`:
 *   --config litv2_s --checkpoint litv2_s.pth --image cat.jpg [--topk 5] [--json] [--labels names.txt]
 *   --tensor input.npy | --tensor input.bin --shape 1,3,224,224   (pre-normalised NCHW float32)
 *   --cfg-options model.backbone.embed_dim=48 model.backbone.depths=[1,1,2,1]
 */
import { predictClassification, type ClassificationPredictOptions } from '@litv2/classification';

export function parseClassificationArgs(argv: string[]): ClassificationPredictOptions & { json: boolean } {
  const o: ClassificationPredictOptions & { json: boolean } = { config: '', json: false, cfgOptions: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--config': o.config = value(); break;
      case '--checkpoint': o.checkpoint = value(); break;
      case '--image': o.image = value(); break;
      case '--tensor': o.tensor = value(); break;
      case '--labels': o.labels = value(); break;
      case '--shape': o.shape = value().split(',').map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n <= 0) throw new Error(`--shape: '${s}' is not a positive integer`);
        return n;
      }); break;
      case '--topk': o.topk = Number(value()); if (!Number.isInteger(o.topk) || o.topk < 1) throw new Error('--topk expects a positive integer'); break;
      case '--json': o.json = true; break;
      case '--cfg-options':
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o.cfgOptions!.push(argv[++i]);
        if (eq > 0) o.cfgOptions!.push(a.slice(eq + 1));
        break;
      default: throw new Error(`unknown option '${a}' (see tools/predict/classification.ts)`);
    }
  }
  if (!o.config) throw new Error('--config NAME is required (e.g. litv2_s)');
  return o;
}

export async function main(argv: string[]): Promise<number> {
  const o = parseClassificationArgs(argv);
  const r = await predictClassification(o);
  if (o.json) {
    console.log(JSON.stringify({ logits: r.logits.length === 1 ? r.logits[0] : r.logits, topk: r.topk.length === 1 ? r.topk[0] : r.topk }));
    return 0;
  }
  if (r.loadReport) {
    const { file, missingKeys, unexpectedKeys } = r.loadReport;
    console.log(`weights: ${file} (${missingKeys.length} missing, ${unexpectedKeys.length} unexpected keys)`);
    if (missingKeys.length) console.log(`  missing: ${missingKeys.slice(0, 10).join(', ')}${missingKeys.length > 10 ? ', …' : ''}`);
    if (unexpectedKeys.length) console.log(`  unexpected: ${unexpectedKeys.slice(0, 10).join(', ')}${unexpectedKeys.length > 10 ? ', …' : ''}`);
  } else {
    console.log('weights: none given (random initialisation)');
  }
  r.topk.forEach((rows, b) => {
    if (r.topk.length > 1) console.log(`image ${b}:`);
    console.log('  rank  class  prob      logit      label');
    rows.forEach((t, k) => console.log(`  ${String(k + 1).padStart(4)}  ${String(t.index).padStart(5)}  ${t.prob.toFixed(4).padStart(6)}  ${t.logit.toFixed(4).padStart(9)}  ${t.label ?? '(no label list; pass --labels)'}`));
    const lg = r.logits[b];
    console.log(`  logits (${lg.length}): [${lg.slice(0, 8).map((v) => v.toFixed(4)).join(', ')}${lg.length > 8 ? ', …' : ''}] (--json prints all)`);
  });
  return 0;
}
