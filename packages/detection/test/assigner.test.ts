import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@litv2/core/node';
import { bboxOverlaps, MaxIoUAssigner, type MaxIoUAssignerConfig, type OverlapMode } from '@litv2/detection';
import { readJsonFixture } from '@litv2/detection/testing/fixture';
import { detRef, expectClose, expectExact, flat, t2 } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

interface Outcome {
  num_gts: number;
  gt_inds: number[];
  max_overlaps: number[];
  labels: number[];
}
interface AssignerFixture {
  anchors: number[][];
  proposals: number[][];
  gt_bboxes: number[][];
  gt_labels: number[];
  gt_bboxes_ignore: number[][];
  settings: Record<string, { cfg: MaxIoUAssignerConfig } & Record<string, Outcome>>;
  bbox_overlaps: Record<string, number[][] | number[]>;
}

const fx = readJsonFixture<AssignerFixture>(detRef('assigner.json'));

test.each(Object.keys(fx.settings))('MaxIoUAssigner %s matches mmdet exactly', (name) => {
  const s = fx.settings[name];
  const assigner = new MaxIoUAssigner(s.cfg);
  const before = tf.memory().numTensors;
  const cases: [string, number[][], boolean, boolean][] = [
    ['anchors', fx.anchors, false, false],
    ['anchors_with_ignore', fx.anchors, true, false],
    ['proposals', fx.proposals, false, false],
    ['proposals_with_ignore', fx.proposals, true, false],
    ['zero_gts', fx.proposals, false, true],
    ['zero_gts_with_ignore', fx.proposals, true, true],
  ];
  for (const [key, cand, withIgnore, zero] of cases) {
    const exp = s[key];
    tf.tidy(() => {
      const gts = zero ? (tf.zeros([0, 4]) as tf.Tensor2D) : t2(fx.gt_bboxes);
      const labels = zero ? (tf.zeros([0], 'int32') as tf.Tensor1D) : tf.tensor1d(fx.gt_labels, 'int32');
      const res = assigner.assign(tf.tensor2d(cand), gts, withIgnore ? t2(fx.gt_bboxes_ignore) : null, labels);
      expect(res.numGts).toBe(exp.num_gts);
      expectExact(res.gtInds.dataSync(), exp.gt_inds, `${name}.${key} gt_inds`);
      expectExact(res.labels!.dataSync(), exp.labels, `${name}.${key} labels`);
      expectClose(res.maxOverlaps.dataSync(), exp.max_overlaps, `${name}.${key} max_overlaps`, 1e-6, 1e-5);
    });
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('bbox_overlaps iou / iof / giou, aligned and not, degenerate and empty', () => {
  const o = fx.bbox_overlaps;
  const b1 = t2(o.bboxes1 as number[][]);
  const b2 = t2(o.bboxes2 as number[][]);
  const b3 = t2(o.bboxes3_aligned_with_1 as number[][]);
  for (const mode of ['iou', 'iof', 'giou'] as OverlapMode[]) {
    expectClose(bboxOverlaps(b1, b2, mode).dataSync(), flat(o[mode]), mode, 1e-6, 1e-5);
    expectClose(bboxOverlaps(b1, b3, mode, true).dataSync(), flat(o[`${mode}_aligned`]), `${mode} aligned`, 1e-6, 1e-5);
  }
  const empty = bboxOverlaps(b1, tf.zeros([0, 4]) as tf.Tensor2D);
  expect(empty.shape).toEqual([9, 0]);
  expect(flat(o.iou_empty).length).toBe(0);
});

test('assigner config errors', () => {
  expect(() => new MaxIoUAssigner({ pos_iou_thr: 0.5, neg_iou_thr: [0.1] as unknown as number })).toThrow(/neg_iou_thr/);
});

test('batched assignment (padded gts, inside masks, ignore boxes, an image without gts) equals per-image assignment', () => {
  const rnd = (n: number, seed: number) => {
    let s = seed;
    const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    return Array.from({ length: n }, () => {
      const x = r() * 90;
      const y = r() * 70;
      return [x, y, x + 4 + r() * 40, y + 4 + r() * 40];
    });
  };
  const anchors = tf.tensor2d([...rnd(300, 1), ...fx.anchors.slice(0, 100)]);
  const n = anchors.shape[0];
  const gtsPer = [rnd(3, 2), [], rnd(5, 3)];
  const ignPer = [rnd(1, 4), [], []];
  const insidePer = [0, 1, 2].map((i) => Array.from({ length: n }, (_, k) => ((k + i) % 7 === 0 ? 0 : 1)));
  for (const cfg of Object.values(fx.settings).map((s) => s.cfg)) {
    const a = new MaxIoUAssigner(cfg);
    tf.tidy(() => {
      const g = 5;
      const gts = tf.tensor3d(gtsPer.map((x) => [...x, ...Array(g - x.length).fill([0, 0, 0, 0])]));
      const gtValid = tf.tensor2d(gtsPer.map((x) => Array.from({ length: g }, (_, j) => (j < x.length ? 1 : 0))), [3, g], 'bool');
      const ign = { boxes: tf.tensor3d(ignPer.map((x) => (x.length ? x : [[0, 0, 0, 0]]))), valid: tf.tensor2d(ignPer.map((x) => [x.length ? 1 : 0]), [3, 1], 'bool') };
      const inside = tf.tensor2d(insidePer, [3, n], 'bool');
      const batch = a.assignBatch(anchors, gts, gtValid, inside, ign);
      const bi = batch.gtInds.arraySync() as number[][];
      const bm = batch.maxOverlaps.arraySync() as number[][];
      gtsPer.forEach((gt, i) => {
        const one = a.assign(anchors, t2(gt), ignPer[i].length ? t2(ignPer[i]) : null, null, tf.tensor1d(insidePer[i], 'bool'));
        const gi = one.gtInds.dataSync();
        const mo = one.maxOverlaps.dataSync();
        // Compare where the candidate is inside (outside ones are given weight 0 by the head either way).
        for (let k = 0; k < n; k++) {
          if (!insidePer[i][k]) continue;
          if (gi[k] !== bi[i][k]) throw new Error(`image ${i} candidate ${k}: batched gt_ind ${bi[i][k]}, per-image ${gi[k]}`);
          if (gt.length && Math.abs(mo[k] - bm[i][k]) > 1e-6) throw new Error(`image ${i} candidate ${k}: max overlap ${bm[i][k]} vs ${mo[k]}`);
        }
      });
    });
  }
  anchors.dispose();
});
