import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKBONES, Fixture, checkFixture, initBackend, type ConfigNode } from '@litv2/core';
import { semFpnFixtureHandler, semFpnModelConfig } from '../src/analysis';
import { detectionFixtures, litv2Fixtures } from './helpers/paths';

const file = path.join(detectionFixtures, 'semfpn_tiny.json');
const backboneWeights = path.join(litv2Fixtures, 'litv2_tiny_backbone.json');

describe('semfpn_tiny (mmseg 0.13 EncoderDecoder + LITv2 seg backbone + FPN + FPNHead)', () => {
  beforeAll(() => initBackend({ quiet: true }));

  test('every stored output of both cases is reproduced at atol/rtol 1e-4 (labels exactly)', async () => {
    // Tensors a backbone build leaves behind on its own (owned by core, reported separately), so that this
    // test checks that the segmentation code itself frees everything it creates.
    const n0 = tf.memory().numTensors;
    BACKBONES.build(semFpnModelConfig(Fixture.load(file)).backbone as ConfigNode, undefined).dispose();
    const constructionLeak = tf.memory().numTensors - n0;
    const before = tf.memory().numTensors;
    const report = await checkFixture(file, [semFpnFixtureHandler], { atol: 1e-4, rtol: 1e-4, backboneWeights });
    const failed = report.rows.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail ?? r.maxAbs}`);
    expect(failed).toEqual([]);
    // Nothing the fixture stores is left unchecked.
    expect(report.notCompared).toEqual([]);
    for (const tag of ['in96x128', 'in100x132']) {
      for (const n of ['backbone_out0', 'backbone_out3', 'neck_out0', 'seg_logits_quarter', 'seg_logits_input_size', 'seg_pred_ori_size', 'loss_seg', 'acc_seg', 'grad_seg_logits_quarter']) {
        expect(report.rows.map((r) => r.name)).toContain(`${tag}.${n}`);
      }
    }
    expect(report.rows.map((r) => r.name)).toContain('in96x128.seg_prob_ori_size');
    expect(tf.memory().numTensors - before).toBe(constructionLeak);
  });
});
