import * as tf from '@tensorflow/tfjs';
import { decode, encode, type UncompressedRle } from '@litv2/cocoapi';
import { Fixture, initBackend } from '@litv2/core/node';
import { FCNMaskHead, getSegMasks, maskTargets, pasteMasks, Shared2FCBBoxHead, type RcnnTestCfg } from '../src';
import { detRef, expectClose, expectExact } from './helpers';
import { nchwToNhwc } from '../src/testing/fixture';

// Parts of mask_rcnn_tiny that need no backbone: the R-CNN heads' targets, losses and post-processing fed with the
// stored head outputs and sample (the whole-detector parity lives in the check-fixture handler).
let fx: Fixture;
let meta: Record<string, any>;
const testCfg: RcnnTestCfg = { score_thr: 0.05, nms: { type: 'nms', iou_threshold: 0.5 }, max_per_img: 100, mask_thr_binary: 0.5 };
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  fx = Fixture.load(detRef('mask_rcnn_tiny.json'));
  meta = fx.meta as Record<string, any>;
});

const t2 = (name: string) => { const { shape, data } = fx.get(name); return tf.tensor2d(data, shape as [number, number]); };
const ints = (name: string) => Int32Array.from(fx.get(name).data);
const head = () => new Shared2FCBBoxHead({ in_channels: 64, fc_out_channels: 128, roi_feat_size: 7, num_classes: 4, bbox_coder: { target_stds: [0.1, 0.1, 0.2, 0.2] } });
const nhwcMasks = (name: string): tf.Tensor4D => {
  const { shape, data } = fx.get(name);
  const [n, c, h, w] = shape;
  return tf.tensor4d(nchwToNhwc(data, shape), [n, h, w, c]);
};

test('bbox head get_bboxes: detections for both metas (incl. the y2 == 0 padding rois) match mmdet', () => {
  const h = head();
  const rois = fx.get('test.rois').data;
  const cls = t2('test.cls_score');
  const reg = t2('test.bbox_pred');
  for (const [key, m, rescale] of [['meta_rescaled.rescale_True', 'meta_rescaled', true], ['meta_scale1.rescale_False', 'meta_scale1', false]] as const) {
    const im = meta.img_metas[m];
    const dets = h.getBboxes(rois, cls, reg, im.img_shape, im.scale_factor, rescale, testCfg);
    expectClose(dets.bboxes, fx.get(`test.${key}.det_bboxes`).data, key);
    expectExact(dets.labels, fx.get(`test.${key}.det_labels`).data, `${key} labels`);
  }
  tf.dispose([cls, reg]);
  h.dispose();
});

test('bbox targets from the stored sample, loss_cls / loss_bbox / acc match mmdet', () => {
  const h = head();
  const gt = fx.get('gt_bboxes').data;
  const props = fx.get('train.proposals').data;
  const P = props.length / 5;
  const G = gt.length / 4;
  const cand = new Float32Array((G + P) * 4);
  cand.set(gt, 0);
  for (let i = 0; i < P; i++) cand.set(props.subarray(i * 5, i * 5 + 4), (G + i) * 4);
  const sampling = {
    posInds: ints('train.sample_pos_inds'), negInds: ints('train.sample_neg_inds'),
    posAssignedGtInds: ints('train.sample_pos_assigned_gt_inds'), posIsGt: Uint8Array.from(fx.get('train.sample_pos_is_gt').data), numGtsAdded: G,
  };
  const t = h.getTargets(sampling, cand, gt, ints('gt_labels'));
  expectExact(t.labels, fx.get('train.bbox_labels').data, 'labels');
  expectClose(t.labelWeights, fx.get('train.bbox_label_weights').data, 'label weights');
  expectClose(t.bboxTargets, fx.get('train.bbox_targets').data, 'bbox targets');
  expectClose(t.bboxWeights, fx.get('train.bbox_weights').data, 'bbox weights');
  const cls = t2('train.cls_score');
  const reg = t2('train.bbox_pred');
  const l = h.loss(cls, reg, t);
  expectClose([l.lossCls.dataSync()[0]], fx.get('train.loss_cls').data, 'loss_cls');
  expectClose([l.lossBbox.dataSync()[0]], fx.get('train.loss_bbox').data, 'loss_bbox');
  expectClose([l.acc], fx.get('train.acc').data, 'acc');
  tf.dispose([cls, reg, l.lossCls, l.lossBbox]);
  h.dispose();
});

test('mask targets (RoIAlign of the gt bitmaps) and loss_mask match mmdet', () => {
  const gtRles = meta.gt_masks_rle as UncompressedRle[];
  const planes = gtRles.map((r) => decode(r)); // column-major
  const [H, W] = gtRles[0].size;
  const rowMajor = new Float32Array(planes.length * H * W);
  planes.forEach((m, g) => { for (let x = 0; x < W; x++) for (let y = 0; y < H; y++) rowMajor[(g * H + y) * W + x] = m.data[x * H + y]; });
  const gtMasks = tf.tensor3d(rowMajor, [planes.length, H, W]);
  const rois = fx.get('train.mask_pos_rois').data;
  const boxes = Float32Array.from({ length: (rois.length / 5) * 4 }, (_, i) => rois[Math.floor(i / 4) * 5 + 1 + (i % 4)]);
  const targets = maskTargets(gtMasks, boxes, ints('train.sample_pos_assigned_gt_inds'));
  expectExact(targets.dataSync(), fx.get('train.mask_targets').data, 'mask targets');
  const mh = new FCNMaskHead({ num_convs: 2, in_channels: 64, conv_out_channels: 64, num_classes: 4 });
  const pred = nhwcMasks('train.mask_pred');
  const loss = mh.loss(pred, targets, ints('train.mask_labels'));
  expectClose(loss.dataSync(), fx.get('train.loss_mask').data, 'loss_mask');
  tf.dispose([gtMasks, targets, pred, loss]);
  mh.dispose();
});

test('mask paste (_do_paste_mask) and binary masks: soft mask close, RLE identical, dets without masks null', () => {
  const key = 'test.meta_rescaled.rescale_True';
  const im = meta.img_metas.meta_rescaled;
  const pred = nhwcMasks(`${key}.mask_pred`);
  const dets = fx.get(`${key}.det_bboxes`).data;
  const labels = ints(`${key}.det_labels`);
  const seg = getSegMasks(pred, dets, labels, im.ori_shape, im.scale_factor, true);
  const hasMask = fx.get(`${key}.has_mask`).data;
  const want = meta.masks_rle[key] as (UncompressedRle | null)[];
  expect(seg.masks.length).toBe(want.length);
  let compared = 0;
  seg.masks.forEach((m, i) => {
    expect({ i, has: m !== null }).toEqual({ i, has: hasMask[i] === 1 });
    if (m && want[i]) {
      expect({ i, rle: encode(m).counts }).toEqual({ i, rle: encode(decode(want[i]!)).counts });
      compared++;
    }
  });
  expect(compared).toBeGreaterThan(0);
  // The pasted probabilities of the first det that has a mask.
  const first = fx.get(`${key}.soft_masks_det_inds`).data[0];
  const sf = im.scale_factor.map(Math.fround);
  const box = Float32Array.from([0, 1, 2, 3].map((k) => Math.fround(Math.fround(dets[first * 5 + k] * sf[k]) / sf[k])));
  const soft = tf.tidy(() => {
    const logits = tf.slice(pred, [first, 0, 0, labels[first]], [1, 28, 28, 1]);
    return pasteMasks(tf.reshape(tf.sigmoid(logits), [1, 28, 28]) as tf.Tensor3D, box, im.ori_shape[0], im.ori_shape[1]);
  });
  expectClose(soft.dataSync(), fx.get(`${key}.soft_masks_first`).data, 'soft mask');
  tf.dispose([pred, soft]);
  // Without rescale the masks are pasted at round(ori·scale); here the det boxes with y2 == 0 get no mask either.
  const key1 = 'test.meta_scale1.rescale_False';
  const d1 = fx.get(`${key1}.det_bboxes`).data;
  const n1 = d1.length / 5;
  const zeros = tf.zeros([n1, 28, 28, 4]) as tf.Tensor4D;
  const seg1 = getSegMasks(zeros, d1, ints(`${key1}.det_labels`), meta.img_metas.meta_scale1.ori_shape, meta.img_metas.meta_scale1.scale_factor, false);
  expect([seg1.height, seg1.width]).toEqual([100, 132]);
  expectExact(seg1.masks.map((m) => (m ? 1 : 0)), fx.get(`${key1}.has_mask`).data, 'has_mask scale1');
  // The stored dets all have masks; a det on the top border (y2 == 0) is dropped by mmdet's padding removal.
  const edge = Float32Array.from([10, 0, 30, 0, 0.2, 10, 5, 30, 25, 0.9]);
  const two = tf.ones([2, 28, 28, 4]) as tf.Tensor4D;
  const segEdge = getSegMasks(two, edge, Int32Array.from([0, 1]), [40, 40, 3], [1, 1, 1, 1], false);
  expect(segEdge.masks[0]).toBeNull();
  expect(segEdge.masks[1]!.data.reduce((a, v) => a + v, 0)).toBe(20 * 20);
  two.dispose();
  zeros.dispose();
});

test('FCNMaskHead forward: shapes, deconv interleave equals a direct transposed conv', () => {
  const mh = new FCNMaskHead({ num_convs: 1, in_channels: 3, conv_out_channels: 2, num_classes: 2 });
  const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const out = mh.forward(x);
  expect(out.shape).toEqual([2, 8, 8, 2]);
  // Direct definition: out[2y+i, 2x+j, o] = Σ_c h[y, x, c]·W[c, o, i, j] + b[o].
  const h = tf.tidy(() => mh.convs.at(0).forward(x) as tf.Tensor4D);
  const hd = h.arraySync();
  const w = mh.upsampleWeight.arraySync() as number[][][][];
  const b = mh.upsampleBias.arraySync() as number[];
  const up = tf.tidy(() => {
    const arr = Array.from({ length: 2 }, (_, r) => Array.from({ length: 8 }, (_, Y) => Array.from({ length: 8 }, (_, X) => Array.from({ length: 2 }, (_, o) => {
      let s = b[o];
      for (let c = 0; c < 2; c++) s += hd[r][Y >> 1][X >> 1][c] * w[c][o][Y & 1][X & 1];
      return Math.max(s, 0);
    }))));
    return mh.convLogits.forward(tf.tensor4d(arr)) as tf.Tensor4D;
  });
  expectClose(out.dataSync(), up.dataSync(), 'deconv');
  const sd = mh.stateDict();
  expect(Object.keys(sd).sort()).toEqual(['conv_logits.bias', 'conv_logits.weight', 'convs.0.conv.bias', 'convs.0.conv.weight', 'upsample.bias', 'upsample.weight']);
  expect(sd['upsample.weight'].shape).toEqual([2, 2, 2, 2]);
  tf.dispose([x, out, h, up, ...Object.values(sd)]);
  mh.dispose();
});
