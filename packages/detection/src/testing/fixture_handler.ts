import type { FixtureHandler, TensorComparison } from '@litv2/core/node';
import { checkRetinaNetFixture, isRetinaNetManifest } from './retinanet_fixture';

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

/** Handlers the detection package contributes to the fixture checker. */
export const DETECTION_FIXTURE_HANDLERS: readonly FixtureHandler[] = [retinanetFixtureHandler];
