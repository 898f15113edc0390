import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkFixture, initBackend } from '@litv2/core/node';
import { semFpnFixtureHandler } from '../src/analysis';
import { detectionFixtures, litv2Fixtures } from './helpers/paths';

const file = path.join(detectionFixtures, 'semfpn_tiny.json');
const backboneWeights = path.join(litv2Fixtures, 'litv2_tiny_backbone.json');

describe('semfpn_tiny (mmseg 0.13 EncoderDecoder + LITv2 seg backbone + FPN + FPNHead)', () => {
  beforeAll(() => initBackend({ quiet: true }));

  test('every stored output of both cases is reproduced at atol/rtol 1e-4 (labels exactly)', async () => {
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
    // Building, running and disposing the whole model leaves no tensor behind.
    expect(tf.memory().numTensors).toBe(before);
  });
});
