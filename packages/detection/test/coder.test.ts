import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { DeltaXYWHBBoxCoder } from '@litv2/detection';
import { readJsonFixture } from '@litv2/detection/testing/fixture';
import { detRef, expectClose, flat } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

interface CoderCase {
  target_means: number[];
  target_stds: number[];
  [k: string]: unknown;
}
interface CoderFixture {
  proposals: number[][];
  gt_bboxes: number[][];
  deltas_small: number[][];
  deltas_large: number[][];
  cases: CoderCase[];
  decode_large_max_shape_100x132_clip_border_False: number[][];
}

test('DeltaXYWH encode/decode match mmdet (clamps, wh-ratio clip, batched max shapes)', () => {
  const fx = readJsonFixture<CoderFixture>(detRef('coder.json'));
  const props = tf.tensor2d(fx.proposals);
  const gts = tf.tensor2d(fx.gt_bboxes);
  const small = tf.tensor2d(fx.deltas_small);
  const large = tf.tensor2d(fx.deltas_large);
  const run = (t: tf.Tensor) => {
    const v = t.dataSync();
    t.dispose();
    return v;
  };
  for (const c of fx.cases) {
    const coder = new DeltaXYWHBBoxCoder({ target_means: c.target_means, target_stds: c.target_stds });
    const enc = coder.encode(props, gts);
    expectClose(enc.dataSync(), flat(c.encode), 'encode');
    expectClose(run(coder.decode(props, enc)), flat(c.decode_encoded_no_max_shape), 'round trip');
    // The round trip recovers the gts.
    expectClose(run(coder.decode(props, enc)), flat(fx.gt_bboxes), 'round trip = gt', 1e-3, 1e-4);
    enc.dispose();
    for (const [name, d] of [['small', small], ['large', large]] as const) {
      expectClose(run(coder.decode(props, d)), flat(c[`decode_${name}_no_max_shape`]), `decode ${name}`);
      expectClose(run(coder.decode(props, d, [100, 132])), flat(c[`decode_${name}_max_shape_100x132`]), `decode ${name} max_shape`);
      expectClose(run(coder.decode(props, d, null, 0.1)), flat(c[`decode_${name}_wh_ratio_clip_0.1`]), `decode ${name} clip 0.1`);
    }
    const rois = tf.tensor3d(c.decode_batched_rois as number[][][]);
    const deltas = tf.tensor3d(c.decode_batched_deltas as number[][][]);
    expectClose(run(coder.decode(rois, deltas, c.decode_batched_max_shapes as number[][])), flat(c.decode_batched), 'batched');
    tf.dispose([rois, deltas]);
  }
  const noClip = new DeltaXYWHBBoxCoder({ ...fx.cases[0], clip_border: false });
  expectClose(run(noClip.decode(props, large, [100, 132])), flat(fx.decode_large_max_shape_100x132_clip_border_False), 'clip_border false');
  tf.dispose([props, gts, small, large]);
});
