import { BACKBONES } from '@litv2/core';
import { initBackend } from '@litv2/core/node';
import { checkMaskRcnnFixture } from '../src/testing/maskrcnn_fixture';
import { detRef } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

test('mask_rcnn_tiny: backbone + FPN + RPNHead + StandardRoIHead reproduce neck maps, RPN outputs, proposals, targets and losses, rois, RoI features, head outputs, detections, masks and the R-CNN training pass', async () => {
  expect(BACKBONES.has('LITv2')).toBe(true);
  const report = await checkMaskRcnnFixture({ fixture: detRef('mask_rcnn_tiny.json') });
  if (report.failures().length) throw new Error(report.format());
  const names = report.entries.map((e) => e.name);
  for (const n of ['neck_out4', 'test.roi_levels', 'test.bbox_feats_first', 'test.cls_score', 'test.meta_rescaled.rescale_True.detections',
    'test.meta_rescaled.rescale_True.masks_rle', 'test.meta_scale1.rescale_False.masks_rle', 'train.bbox_targets', 'train.loss_mask', 'train.acc', 'tensor_count',
    'rpn_cls_score0', 'rpn_bbox_pred4', 'test.proposals', 'train.proposals', 'train.rpn_target_labels', 'train.loss_rpn_cls0', 'train.loss_rpn_bbox4',
    'train.mask_targets', 'train.mask_pred', 'test.meta_rescaled.rescale_True.mask_pred', 'test.meta_rescaled.rescale_True.soft_masks_first']) {
    expect(names).toContain(n);
  }
  console.log(`mask_rcnn_tiny: ${report.entries.length} checks, max |diff| ${report.maxAbs.toExponential(2)}`);
});
