import type { FixtureHandler, TensorComparison } from '@litv2/core/node';
import { checkRetinaNetFixture, isRetinaNetManifest } from './retinanet_fixture';
import { checkMaskRcnnFixture, isMaskRcnnManifest } from './maskrcnn_fixture';
import { checkRoiAlignFixture, isRoiAlignManifest } from './roi_align_fixture';

/**
 * `tools/check-fixture.ts` handler for RetinaNet manifests (meta.config.bbox_head.type RetinaHead): rebuilds the
 * model from the manifest, takes backbone weights from `--backbone-weights`, and reports one row per stored
 * tensor (detections as `<case>.det_bboxes` / `<case>.det_labels`).
 */
export const retinanetFixtureHandler: FixtureHandler = {
  name: 'detection:retinanet',
  matches: (m) => isRetinaNetManifest(m),
  async run(fx, opts) {
    const report = await checkRetinaNetFixture({ fixture: fx.file, backboneWeights: opts.backboneWeights, atol: opts.atol, rtol: opts.rtol, mode: 'full' });
    const rows: TensorComparison[] = [];
    const shapeOf = (n: string) => (fx.has(n) ? fx.entry(n).shape : []);
    for (const e of report.entries) {
      const names = e.name.endsWith('.detections') ? [e.name.replace(/detections$/, 'det_bboxes'), e.name.replace(/detections$/, 'det_labels')] : [e.name];
      for (const name of names) {
        // Labels are compared exactly inside the detection matching.
        const labels = name.endsWith('.det_labels');
        rows.push({ name, shape: shapeOf(name), maxAbs: labels && e.ok ? 0 : e.maxAbs, maxRel: labels && e.ok ? 0 : (e.maxRel ?? Number.NaN), ok: e.ok, detail: e.message });
      }
    }
    return rows;
  },
};

/**
 * Handler for Mask R-CNN manifests (meta.config.roi_head.mask_head): backbone, FPN and StandardRoIHead rebuilt
 * from the manifest; one row per compared quantity (detections as `<case>.detections`, masks as `<case>.masks_rle`).
 */
export const maskRcnnFixtureHandler: FixtureHandler = {
  name: 'detection:mask_rcnn',
  matches: (m) => isMaskRcnnManifest(m),
  async run(fx, opts) {
    const report = await checkMaskRcnnFixture({ fixture: fx.file, backboneWeights: opts.backboneWeights, atol: opts.atol, rtol: opts.rtol });
    const shapeOf = (n: string) => (fx.has(n) ? fx.entry(n).shape : []);
    const rows: TensorComparison[] = [];
    for (const e of report.entries) {
      const names = e.name.endsWith('.detections') ? [e.name.replace(/detections$/, 'det_bboxes'), e.name.replace(/detections$/, 'det_labels')] : [e.name];
      for (const name of names) {
        const labels = name.endsWith('.det_labels');
        rows.push({ name, shape: shapeOf(name), maxAbs: labels && e.ok ? 0 : e.maxAbs, maxRel: labels && e.ok ? 0 : (e.maxRel ?? Number.NaN), ok: e.ok, detail: e.message });
      }
    }
    return rows;
  },
};

/** Handler for roi_align.json: mmcv RoIAlign cases (output + gradient) and the SingleRoIExtractor parts. */
export const roiAlignFixtureHandler: FixtureHandler = {
  name: 'detection:roi_align',
  matches: (m) => isRoiAlignManifest(m),
  async run(fx, opts) {
    const report = await checkRoiAlignFixture({ fixture: fx.file, atol: opts.atol, rtol: opts.rtol });
    const shapeOf = (n: string) => (fx.has(n) ? fx.entry(n).shape : []);
    return report.entries.map((e) => ({ name: e.name, shape: shapeOf(e.name), maxAbs: e.maxAbs, maxRel: e.maxRel ?? Number.NaN, ok: e.ok, detail: e.message }));
  },
};

/** Handlers the detection package contributes to the fixture checker. */
export const DETECTION_FIXTURE_HANDLERS: readonly FixtureHandler[] = [retinanetFixtureHandler, maskRcnnFixtureHandler, roiAlignFixtureHandler];
