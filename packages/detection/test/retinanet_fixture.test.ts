import { BACKBONES, initBackend } from '@litv2/core';
import { checkRetinaNetFixture } from '@litv2/detection/testing/retinanet_fixture';
import { detRef } from './helpers';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
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

const full = BACKBONES.has('LITv2') ? test : test.skip;
full('retinanet_tiny full model (LITv2 backbone + FPN + RetinaHead) matches every stored output', async () => {
  const report = await checkRetinaNetFixture({ fixture: detRef('retinanet_tiny.json'), mode: 'full' });
  if (report.failures().length) throw new Error(report.format());
  expect(report.entries.map((e) => e.name)).toContain('ws4.backbone_out3');
});
