import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { seedEverything } from '@litv2/core';
import { Fixture, initBackend, loadCheckpoint, loadStateDictFile, saveCheckpoint } from '@litv2/core/node';
import { buildSemFpnFromFixture, semFpnModelConfig } from '../src/analysis';
import { segmentorFromConfig } from '../src/models';
import { detectionFixtures, litv2Fixtures } from './helpers/paths';

describe('Semantic FPN checkpoints by mmseg names', () => {
  beforeAll(() => initBackend({ quiet: true }));

  test('save ours -> load by mmseg names reproduces the model (and matches the fixture key set)', async () => {
    const fxFile = path.join(detectionFixtures, 'semfpn_tiny.json');
    const fx = Fixture.load(fxFile);
    // A: the fixture model (mmseg weights loaded strictly by their mmseg names).
    const a = buildSemFpnFromFixture(fx, path.join(litv2Fixtures, 'litv2_tiny_backbone.json'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semfpn-ckpt-'));
    const file = path.join(dir, 'semfpn.ckpt');
    const sd = a.stateDict();
    await saveCheckpoint(file, { model: sd, meta: { config: 'semfpn_tiny' } });
    tf.dispose(Object.values(sd));
    // Every key is an mmseg name: the fixture's neck/head keys plus `backbone.<k>`.
    const loaded = await loadStateDictFile(file);
    const keys = Object.keys(loaded).sort();
    for (const e of fx.list('param')) expect(keys).toContain(e.name);
    expect(keys.filter((k) => !k.startsWith('backbone.') && !k.startsWith('neck.') && !k.startsWith('decode_head.'))).toEqual([]);
    expect(keys).toContain('decode_head.scale_heads.3.4.bn.num_batches_tracked');
    // B: a fresh, differently initialised model of the same config takes the checkpoint strictly.
    seedEverything(99);
    const b = segmentorFromConfig(semFpnModelConfig(fx)).eval();
    b.loadStateDict(loaded, { strict: true });
    tf.dispose(Object.values(loaded));
    const x = tf.tidy(() => fx.tensor('in100x132.input').transpose([0, 2, 3, 1]) as tf.Tensor4D);
    const ya = a.encodeDecode(x);
    const yb = b.encodeDecode(x);
    expect(tf.tidy(() => ya.sub(yb).abs().max().dataSync()[0])).toBe(0);
    const ck = await loadCheckpoint(file);
    expect(ck.meta.config).toBe('semfpn_tiny');
    tf.dispose([x, ya, yb, ...Object.values(ck.model)]);
    a.dispose();
    b.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
