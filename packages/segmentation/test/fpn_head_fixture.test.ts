import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type ConfigNode } from '@litv2/core';
import { DECODE_HEADS, FPNHead } from '../src/models';
import { FixtureFile, compareArrays, nchwToNhwc } from '../src/fixtures/fixture_file';
import { resizeBilinear } from '../src/ops/resize';
import { detectionFixtures } from './helpers/paths';

interface CaseMeta {
  tag: string;
  input_hw: [number, number];
  ori_shape: [number, number, number];
  loss_seg: number;
  acc_seg: number;
}

/** Compares our NHWC result against a stored NCHW tensor at atol/rtol 1e-4. */
function expectClose(ours: tf.Tensor, fx: FixtureFile, name: string, toNchw = true): number {
  const want = fx.values(name);
  const t = toNchw && ours.rank === 4 ? ours.transpose([0, 3, 1, 2]) : ours.clone();
  const got = t.dataSync();
  const shape = t.shape;
  t.dispose();
  expect(shape).toEqual(fx.entry(name).shape);
  const r = compareArrays(got, want);
  if (!r.ok) throw new Error(`${name}: max |diff| ${r.maxAbs} at flat index ${r.worst} (ours ${got[r.worst]}, want ${want[r.worst]})`);
  return r.maxAbs;
}

describe('FPNHead on the semfpn_tiny fixture (from the stored neck outputs)', () => {
  let fx: FixtureFile;
  let head: FPNHead;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    fx = new FixtureFile(path.join(detectionFixtures, 'semfpn_tiny.json'));
    const cfg = (fx.manifest.meta.config as ConfigNode).decode_head as ConfigNode;
    head = DECODE_HEADS.build(cfg, undefined, { path: 'model.decode_head' }) as FPNHead;
    const sd = fx.tensorsWithPrefix('decode_head.');
    head.loadStateDict(sd);
    Object.values(sd).forEach((t) => t.dispose());
    head.eval();
  });
  afterAll(() => head?.dispose());

  const cases = ['in96x128', 'in100x132'];
  test.each(cases)('%s: logits, resizes, argmax, loss, accuracy and gradient', (tag) => {
    const meta = (fx.manifest.meta.cases as CaseMeta[]).find((c) => c.tag === tag)!;
    const before = tf.memory().numTensors;
    const neck = [0, 1, 2, 3].map((i) => tf.tidy(() => nchwToNhwc(fx.tensor(`${tag}.neck_out${i}`))));
    const quarter = head.forward(neck);
    expectClose(quarter, fx, `${tag}.seg_logits_quarter`);

    const inputSize = resizeBilinear(quarter, meta.input_hw, false);
    expectClose(inputSize, fx, `${tag}.seg_logits_input_size`);

    const ori: [number, number] = [meta.ori_shape[0], meta.ori_shape[1]];
    const prob = tf.tidy(() => tf.softmax(resizeBilinear(inputSize, ori, false), -1));
    if (fx.has(`${tag}.seg_prob_ori_size`)) expectClose(prob, fx, `${tag}.seg_prob_ori_size`);
    const pred = tf.tidy(() => tf.argMax(prob, -1).squeeze([0]));
    expect(Array.from(pred.dataSync())).toEqual(Array.from(fx.values(`${tag}.seg_pred_ori_size`)));

    const labels = tf.tidy(() => fx.tensor(`${tag}.gt_semantic_seg`).squeeze([1]).toInt() as tf.Tensor3D);
    const losses = head.losses(quarter, labels);
    expect(losses.loss_seg.dataSync()[0]).toBeCloseTo(meta.loss_seg, 4);
    expect(Math.abs(losses.loss_seg.dataSync()[0] - fx.values(`${tag}.loss_seg`)[0])).toBeLessThan(1e-4);
    expect(Math.abs(losses.acc_seg.dataSync()[0] - fx.values(`${tag}.acc_seg`)[0])).toBeLessThan(1e-4);

    const grad = tf.grad((q: tf.Tensor) => tf.tidy(() => head.losses(q as tf.Tensor4D, labels).loss_seg))(quarter);
    expectClose(grad, fx, `${tag}.grad_seg_logits_quarter`);

    tf.dispose([neck, quarter, inputSize, prob, pred, labels, losses.loss_seg, losses.acc_seg, grad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
