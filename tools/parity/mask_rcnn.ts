/**
 * Mask R-CNN and RoIAlign parts of tools/check-fixture.ts: the handlers live in @litv2/detection (jest and the CLI
 * run the same code). mask_rcnn_tiny is recognised by `meta.config.roi_head.mask_head`, roi_align by
 * `meta.roi_align_cases`; backbone tensors come from `--backbone-weights` (default
 * ../shared/reference/litv2/fixtures/litv2_tiny_backbone.json).
 */
export { maskRcnnFixtureHandler, roiAlignFixtureHandler } from '@litv2/detection';
