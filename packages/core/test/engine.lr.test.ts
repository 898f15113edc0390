import { buildLrSchedule, cosineSchedule, polySchedule, stepSchedule } from '../src/engine/lr_schedule';

const pos = (iter: number, epoch = 0, maxIters = 80000, maxEpochs = 12) => ({ iter, epoch, maxIters, maxEpochs });

describe('step + linear warm-up (mmdet 1x)', () => {
  const s = buildLrSchedule({ policy: 'step', warmup: 'linear', warmup_iters: 500, warmup_ratio: 0.001, step: [8, 11] }, 1e-4);
  test('warm-up ramps linearly from 0.001 x lr', () => {
    expect(s.lrAt(pos(0))).toBeCloseTo(1e-7, 12);
    // k = (1 - 250/500) * (1 - 0.001) = 0.4995 -> lr * 0.5005
    expect(s.lrAt(pos(250))).toBeCloseTo(1e-4 * 0.5005, 12);
    expect(s.lrAt(pos(499))).toBeCloseTo(1e-4 * (1 - (1 / 500) * 0.999), 12);
    expect(s.lrAt(pos(500))).toBe(1e-4);
  });
  test('x0.1 from epoch index 8 and x0.01 from 11', () => {
    expect(s.lrAt(pos(5000, 7))).toBe(1e-4);
    expect(s.lrAt(pos(6000, 8))).toBeCloseTo(1e-5, 15);
    expect(s.lrAt(pos(7000, 10))).toBeCloseTo(1e-5, 15);
    expect(s.lrAt(pos(8000, 11))).toBeCloseTo(1e-6, 15);
  });
  test('warm-up multiplies the decayed rate when a step falls inside it', () => {
    const t = stepSchedule({ baseLr: 1, step: [1], byEpoch: true, warmup: { kind: 'linear', iters: 100, ratio: 0.1 } });
    expect(t.lrAt(pos(50, 1))).toBeCloseTo(0.1 * (1 - 0.5 * 0.9), 12);
  });
});

test('poly by iteration (mmseg 80k): (base - min) * (1 - it/max)^0.9 + min', () => {
  const s = buildLrSchedule({ policy: 'poly', power: 0.9, min_lr: 1e-6, by_epoch: false }, 1e-4);
  expect(s.lrAt(pos(0))).toBeCloseTo(1e-4, 15);
  expect(s.lrAt(pos(40000))).toBeCloseTo((1e-4 - 1e-6) * 0.5 ** 0.9 + 1e-6, 15);
  expect(s.lrAt(pos(79999))).toBeCloseTo((1e-4 - 1e-6) * (1 / 80000) ** 0.9 + 1e-6, 15);
  expect(polySchedule({ baseLr: 2, power: 1, byEpoch: false }).lrAt(pos(20000))).toBeCloseTo(1.5, 12);
});

test('cosine annealing', () => {
  const s = cosineSchedule({ baseLr: 1e-3, minLr: 1e-5, byEpoch: true });
  expect(s.lrAt(pos(0, 0))).toBeCloseTo(1e-3, 15);
  expect(s.lrAt(pos(0, 6))).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 2, 15);
  expect(s.lrAt(pos(0, 3))).toBeCloseTo(1e-5 + ((1e-3 - 1e-5) * (1 + Math.cos(Math.PI / 4))) / 2, 15);
  const r = buildLrSchedule({ policy: 'CosineAnnealing', min_lr_ratio: 0.01, by_epoch: false }, 1);
  expect(r.lrAt(pos(80000))).toBeCloseTo(0.01, 12);
});

test('lr_config errors name the key', () => {
  expect(() => buildLrSchedule({ policy: 'stpe' }, 1, 'a.yaml')).toThrow(/a\.yaml: lr_config\.policy: unknown lr policy 'stpe'/);
  expect(() => buildLrSchedule({ policy: 'poly', gama: 0.1 }, 1, 'a.yaml')).toThrow(/lr_config\.gama/);
});
