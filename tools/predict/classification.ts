/**
 * `tools/predict.ts --task classification`:
 *   --config litv2_s --checkpoint litv2_s.pth --image cat.jpg [--topk 5] [--json] [--labels names.txt]
 *   --tensor input.npy | --tensor input.bin --shape 1,3,224,224   (pre-normalised NCHW float32)
 *   --cfg-options model.backbone.embed_dim=48 model.backbone.depths=[1,1,2,1]
 */
import { parseArgs, toolFlags } from '@litv2/core/node';
import { predictClassification, type ClassificationPredictOptions } from '@litv2/classification';

const USAGE = '--config NAME [--checkpoint FILE] (--image IMG | --tensor FILE [--shape 1,3,224,224]) [--topk 5] [--json] [--labels FILE] [--cfg-options k=v ...]';

export function parseClassificationArgs(argv: string[]): ClassificationPredictOptions & { json: boolean } {
  const f = toolFlags(parseArgs(argv), {
    allowed: ['config', 'checkpoint', 'cfg-options', 'image', 'tensor', 'shape', 'topk', 'json', 'labels'],
    usage: USAGE,
  });
  const shape = f.string('shape')?.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) f.fail(`--shape: '${s}' is not a positive integer`);
    return n;
  });
  const o = {
    config: f.string('config', { required: true }),
    checkpoint: f.string('checkpoint'),
    image: f.string('image'),
    tensor: f.string('tensor'),
    shape,
    topk: f.number('topk', undefined, { integer: true, min: 1 }),
    labels: f.string('labels'),
    cfgOptions: f.cfgOptions,
    json: f.bool('json'),
  };
  if (!o.image === !o.tensor) f.fail('give exactly one of --image FILE or --tensor FILE');
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
