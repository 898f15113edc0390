import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Module, LITv2, LITv2Backbone, DTM, loadPretrained, BACKBONES } from '@litv2/core';
import { initBackend, Fixture, convertLITv2Checkpoint, loadStateDictFile, saveCheckpoint } from '@litv2/core/node';

const repoRoot = path.resolve(__dirname, '../../..');
const fixturesDir = path.resolve(repoRoot, '../shared/reference/litv2/fixtures');
const tinyPth = path.join(fixturesDir, 'litv2_tiny.pth');
const tinyArch = { embed_dim: 48, depths: [1, 1, 2, 1], num_heads: [3, 6, 12, 24], alpha: 0.9 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-pre-'));

beforeAll(async () => {
  await initBackend({ quiet: true });
});

const same = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]) === 0;

test('the official .pth loads into the classifier by name with no renaming', async () => {
  const m = new LITv2(tinyArch, { init: false });
  const r = await loadPretrained(m, tinyPth, { strict: true });
  expect(r.missingKeys).toEqual([]);
  expect(r.unexpectedKeys).toEqual([]);
  const fx = Fixture.load(path.join(fixturesDir, 'litv2_tiny.json'));
  const sd = m.stateDict();
  for (const name of ['layers.2.blocks.1.attn.h_qkv.weight', 'layers.0.downsample.dconv.conv_offset.weight', 'layers.1.blocks.0.mlp.dwconv.dwconv.weight']) {
    const ref = fx.tensor(name);
    expect([name, same(sd[name], ref)]).toEqual([name, true]);
    ref.dispose();
  }
  tf.dispose(Object.values(sd));
  m.dispose();
});

test('det/seg backbones: init_cfg Pretrained loads non-strictly with the key report of the official loader', async () => {
  const fx = Fixture.load(path.join(fixturesDir, 'litv2_tiny_backbone.json'));
  const report = fx.meta.load_report as Record<string, { missing: string[]; unexpected: string[] }>;
  for (const [variant, ws] of [['det', 2], ['seg', 2]] as const) {
    const bb = BACKBONES.build({ type: 'LITv2', ...tinyArch, local_ws: [0, 0, ws, 1], variant, init_cfg: { type: 'Pretrained', checkpoint: tinyPth } }, undefined) as LITv2Backbone;
    const r = await bb.initWeights!();
    const ref = report[`${variant}_ws${ws}`];
    expect(r!.missingKeys).toEqual(ref.missing);
    expect(r!.unexpectedKeys.sort()).toEqual([...ref.unexpected].sort());
    bb.dispose();
  }
});

test('loadInitCheckpoints finds the backbone inside a bigger model, logs the key report, and names a missing file', async () => {
  class Detector extends Module {
    backbone = this.addModule('backbone', BACKBONES.build({ type: 'LITv2', ...tinyArch, variant: 'det', init_cfg: { type: 'Pretrained', checkpoint: tinyPth } }) as LITv2Backbone);
  }
  const det = new Detector();
  const lines: string[] = [];
  await det.loadInitCheckpoints((l) => lines.push(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^backbone: loaded .*litv2_tiny\.pth: 6 missing \[norm1\.weight.*4 unexpected \[norm\.weight/);
  const fx = Fixture.load(path.join(fixturesDir, 'litv2_tiny.json'));
  const ref = fx.tensor('layers.2.blocks.1.attn.h_qkv.weight');
  const sd = det.backbone.stateDict();
  expect(same(sd['layers.2.blocks.1.attn.h_qkv.weight'], ref)).toBe(true);
  tf.dispose([ref, ...Object.values(sd)]);
  det.dispose();
  const missing = BACKBONES.build({ type: 'LITv2', ...tinyArch, variant: 'det', init_cfg: { type: 'Pretrained', checkpoint: 'checkpoints/nope_litv2_s.pth' } }) as LITv2Backbone;
  await expect(missing.loadInitCheckpoints()).rejects.toThrow(/backbone\.init_cfg\.checkpoint: pretrained checkpoint 'checkpoints\/nope_litv2_s\.pth' not found.*ziplab\/LITv2.*init_cfg=null/);
  missing.dispose();
});

test('a training checkpoint wrapper ({model, config: CfgNode, ...}) loads too', async () => {
  const dtm = new DTM(16);
  const r = await loadPretrained(dtm, path.join(fixturesDir, 'dtm_wrapped.pth'), { strict: true });
  expect(r.missingKeys).toEqual([]);
  const fx = Fixture.load(path.join(fixturesDir, 'dtm.json'));
  const ref = fx.tensor('dconv.weight');
  const sd = dtm.stateDict();
  expect(same(sd['dconv.weight'], ref)).toBe(true);
  tf.dispose([ref, ...Object.values(sd)]);
  dtm.dispose();
});

test('convert-checkpoint: official .pth -> our format, key report against cls / det models', async () => {
  const out = path.join(tmp, 'tiny_cls.ckpt');
  const r = await convertLITv2Checkpoint({ input: tinyPth, output: out, size: 's', variant: 'cls', arch: tinyArch });
  expect(r.converted).toBe(107);
  expect(r.missingKeys).toEqual([]);
  expect(r.unexpectedKeys).toEqual([]);
  const back = await loadStateDictFile(out);
  const orig = await loadStateDictFile(tinyPth);
  expect(Object.keys(back).sort()).toEqual(Object.keys(orig).sort());
  expect(Object.keys(orig).every((k) => same(back[k], orig[k]))).toBe(true);
  tf.dispose([...Object.values(back), ...Object.values(orig)]);
});

test('convert-checkpoint against the det backbone reports the missing output norms and the dropped head', async () => {
  const det = await convertLITv2Checkpoint({ input: tinyPth, output: path.join(tmp, 'tiny_det.ckpt'), size: 's', variant: 'det', arch: tinyArch });
  expect(det.missingKeys).toEqual(['norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias', 'norm3.weight', 'norm3.bias']);
  expect(det.unexpectedKeys.sort()).toEqual(['head.bias', 'head.weight', 'norm.bias', 'norm.weight']);
  expect(det.converted).toBe(103);
});

test("a whole detector checkpoint is read through its 'backbone.' prefix", async () => {
  const src = new LITv2Backbone({ ...tinyArch, variant: 'det' }, { init: false });
  const sd = src.stateDict();
  const prefixed: Record<string, tf.Tensor> = { 'neck.lateral_convs.0.conv.weight': tf.zeros([2, 2, 1, 1]) };
  for (const [k, v] of Object.entries(sd)) prefixed[`backbone.${k}`] = v;
  const file = path.join(tmp, 'detector.ckpt');
  await saveCheckpoint(file, { model: prefixed, meta: {} });
  const dst = new LITv2Backbone({ ...tinyArch, variant: 'det' }, { init: false });
  const r = await loadPretrained(dst, file);
  expect(r.prefix).toBe('backbone.');
  expect(r.missingKeys).toEqual([]);
  const got = dst.stateDict();
  expect(Object.keys(sd).every((k) => same(got[k], sd[k]))).toBe(true);
  tf.dispose([...Object.values(prefixed), ...Object.values(got)]);
  src.dispose();
  dst.dispose();
});
