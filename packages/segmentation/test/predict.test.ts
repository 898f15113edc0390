import { colorizeLabels, semFpnFlops } from '../src/task';

test('colour mask uses the palette per label and leaves 255 black', () => {
  const img = colorizeLabels(Int32Array.from([0, 1, 255]), 1, 3, [[10, 20, 30], [40, 50, 60]]);
  expect(Array.from(img.data)).toEqual([10, 20, 30, 40, 50, 60, 0, 0, 0]);
});

test('analytic FLOPs of LITv2-S Semantic FPN at 512x512 are within 3 % of the paper (41 G)', () => {
  const f = semFpnFlops({ backbone: { embed_dim: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24], alpha: 0.9, local_ws: [0, 0, 2, 1] }, neck: { in_channels: [96, 192, 384, 768], out_channels: 256 }, head: { channels: 128, num_classes: 150, feature_strides: [4, 8, 16, 32] } }, 512, 512);
  expect(Math.abs(f.total / 1e9 - 41) / 41).toBeLessThan(0.03);
  expect(f.total).toBe(f.backbone + f.neck + f.head);
});
