import * as tf from '@tensorflow/tfjs';
import { roiAlign } from '@litv2/core';
import { Fixture } from '@litv2/core/node';
import { mapRoiLevels, SingleRoIExtractor } from '../roi_heads/roi_extractors/single_roi_extractor';
import { nchwToNhwc } from './fixture';
import { CheckReport } from './report';

interface RoiCase { tag: string; output_size: number; spatial_scale: number; sampling_ratio: number }

/** Is this the RoIAlign / SingleRoIExtractor manifest (meta.roi_align_cases)? */
export function isRoiAlignManifest(json: { meta?: Record<string, unknown> }): boolean {
  return Array.isArray(json.meta?.roi_align_cases);
}

const nhwc = (t: { data: Float32Array; shape: number[] }): tf.Tensor4D => {
  const [n, c, h, w] = t.shape;
  return tf.tensor4d(nchwToNhwc(t.data, t.shape), [n, h, w, c]);
};

/**
 * Every RoIAlign case of roi_align.json (output and feature gradient for the fixed output-gradient pattern) and
 * the SingleRoIExtractor parts (level mapping, 7×7 and 14×14 pooling over a 4-level pyramid).
 */
export async function checkRoiAlignFixture(opts: { fixture: string; atol?: number; rtol?: number }): Promise<CheckReport> {
  const fx = Fixture.load(opts.fixture);
  if (!isRoiAlignManifest(fx.manifest)) throw new Error(`${opts.fixture}: not a RoIAlign fixture (meta.roi_align_cases missing)`);
  const report = new CheckReport(opts.atol ?? 1e-4, opts.rtol ?? 1e-4);
  await tf.ready();
  const feat = nhwc(fx.get('feat'));
  const rois = fx.get('rois').data;
  for (const c of fx.meta.roi_align_cases as RoiCase[]) {
    const o = { outputSize: c.output_size, spatialScale: c.spatial_scale, samplingRatio: c.sampling_ratio };
    const want = fx.get(`${c.tag}.output`);
    const [R, C, oh, ow] = want.shape;
    const g = tf.tidy(() => tf.transpose(tf.tensor4d(Float32Array.from({ length: R * C * oh * ow }, (_, i) => (((i * 7) % 13) - 6) / 4), [R, C, oh, ow]), [0, 2, 3, 1]));
    const out = tf.tidy(() => tf.transpose(roiAlign(feat, rois, o), [0, 3, 1, 2]).dataSync());
    report.close(`${c.tag}.output`, out, want.data);
    const grad = tf.tidy(() => tf.transpose(tf.grad((f: tf.Tensor) => tf.sum(tf.mul(roiAlign(f as tf.Tensor4D, rois, o), g)))(feat), [0, 3, 1, 2]).dataSync());
    report.close(`${c.tag}.grad_feat`, grad, fx.get(`${c.tag}.grad_feat`).data);
    g.dispose();
  }
  feat.dispose();
  report.exact('levels.target_lvls', mapRoiLevels(fx.get('levels.rois').data, 4), fx.get('levels.target_lvls').data);
  const exRois = fx.get('extractor.rois').data;
  report.exact('extractor.target_lvls', mapRoiLevels(exRois, 4), fx.get('extractor.target_lvls').data);
  const feats = [0, 1, 2, 3].map((l) => nhwc(fx.get(`extractor.feat${l}`)));
  for (const size of [7, 14]) {
    const name = `extractor.out${size}`;
    if (!fx.has(name)) continue;
    const ex = new SingleRoIExtractor({ roi_layer: { type: 'RoIAlign', output_size: size, sampling_ratio: 0 }, out_channels: feats[0].shape[3], featmap_strides: [4, 8, 16, 32] });
    report.close(name, tf.tidy(() => tf.transpose(ex.forward(feats, exRois), [0, 3, 1, 2]).dataSync()), fx.get(name).data);
  }
  tf.dispose(feats);
  return report;
}
