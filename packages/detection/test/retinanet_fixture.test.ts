import * as path from 'node:path';
import { BACKBONES } from '@litv2/core';
import { checkFixture, formatFixtureReport, initBackend } from '@litv2/core/node';
import { DETECTION_FIXTURE_HANDLERS } from '@litv2/detection/testing/fixture_handler';
import { checkRetinaNetFixture } from '@litv2/detection/testing/retinanet_fixture';
import { detRef, refDir } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('retinanet_tiny (ws2, ws4): neck, head outputs, candidates, detections, losses, gradients, targets from stored backbone outputs', async () => {
  const report = await checkRetinaNetFixture({ fixture: detRef('retinanet_tiny.json'), mode: 'neck-head' });
  const fails = report.failures();
  if (fails.length) throw new Error(report.format());
  // Everything stored for the neck/head path was compared.
  const names = report.entries.map((e) => e.name);
  for (const v of ['ws2', 'ws4']) {
    expect(names).toContain(`${v}.neck_out4`);
    expect(names).toContain(`${v}.meta_rescaled.rescale_True.detections`);
    expect(names).toContain(`${v}.loss_cls4`);
  }
  expect(names).toContain('ws2.grad_bbox_pred4');
  expect(names).toContain('ws2.target_bbox_targets');
  expect(names).toContain('ws2.meta_scale1.rescale_False.pre_nms_scores');
  console.log(`retinanet_tiny neck-head: ${report.entries.length} checks, max |diff| ${report.maxAbs.toExponential(2)}`);
});

test('retinanet_tiny full model (LITv2 backbone + FPN + RetinaHead) through the fixture checker: every stored tensor reproduced', async () => {
  expect(BACKBONES.has('LITv2')).toBe(true);
  const report = await checkFixture(detRef('retinanet_tiny.json'), DETECTION_FIXTURE_HANDLERS, {
    atol: 1e-4,
    rtol: 1e-4,
    backboneWeights: path.join(refDir, 'litv2/fixtures/litv2_tiny_backbone.json'),
  });
  if (!report.ok) throw new Error(formatFixtureReport(report));
  expect(report.notCompared).toEqual([]);
  expect(report.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['ws4.backbone_out3', 'ws2.meta_rescaled.rescale_True.det_labels', 'ws2.grad_cls_score0']));
});
