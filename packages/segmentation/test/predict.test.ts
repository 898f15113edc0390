import { LITv2Backbone, litv2Preset } from '@litv2/core';
import { colorizeLabels, semFpnFlops } from '../src/task';

test('colour mask uses the palette per label and leaves 255 black', () => {
  const img = colorizeLabels(Int32Array.from([0, 1, 255]), 1, 3, [[10, 20, 30], [40, 50, 60]]);
  expect(Array.from(img.data)).toEqual([10, 20, 30, 40, 50, 60, 0, 0, 0]);
});

test('analytic FLOPs of LITv2-S Semantic FPN at 512x512 are within 3 % of the paper (41 G)', () => {
  const backbone = new LITv2Backbone({ ...litv2Preset('s'), alpha: 0.9, variant: 'seg' });
  const f = semFpnFlops({ backbone, neck: { in_channels: [96, 192, 384, 768], out_channels: 256 }, head: { channels: 128, num_classes: 150, feature_strides: [4, 8, 16, 32] } }, 512, 512);
  backbone.dispose();
  expect(Math.abs(f.total / 1e9 - 41) / 41).toBeLessThan(0.03);
  // The count before the backbone reported its own FLOPs (same formula at 512x512).
  expect(f.total).toBe(42_183_162_880);
  expect(f.total).toBe(f.backbone + f.neck + f.head);
});
