import { Fixture, initBackend } from '@litv2/core/node';
import { AnchorGenerator, anchorInsideFlags, concatLevels, type AnchorGeneratorConfig } from '@litv2/detection';
import { detRef, expectExact } from './helpers';

beforeAll(async () => {
  await initBackend({ quiet: true });
});

interface CaseMeta {
  tag: string;
  featmap_sizes: [number, number][];
  valid_shapes: [number, number][];
}

test('anchors, valid flags and inside flags match mmdet exactly', () => {
  const fx = Fixture.load(detRef('anchors.json'));
  const configs = fx.meta.configs as Record<string, { ctor: AnchorGeneratorConfig; cases: CaseMeta[] }>;
  for (const [name, c] of Object.entries(configs)) {
    const gen = new AnchorGenerator(c.ctor);
    gen.baseAnchors.forEach((b, l) => expectExact(b, fx.get(`${name}.base_anchors${l}`).data, `${name} base anchors ${l}`));
    for (const cs of c.cases) {
      const grid = gen.gridAnchors(cs.featmap_sizes);
      grid.forEach((g, l) => expectExact(g, fx.get(`${cs.tag}.grid_anchors${l}`).data, `${cs.tag} grid ${l}`));
      const flatAnchors = concatLevels(grid);
      for (const [vh, vw] of cs.valid_shapes) {
        const valid = gen.validFlags(cs.featmap_sizes, [vh, vw]);
        valid.forEach((v, l) => expectExact(v, fx.get(`${cs.tag}.valid_${vh}x${vw}.valid_flags${l}`).data, `${cs.tag} valid ${l}`));
        for (const b of [0, -1, 8]) {
          const inside = anchorInsideFlags(flatAnchors, concatLevels(valid), [vh, vw], b);
          expectExact(inside, fx.get(`${cs.tag}.valid_${vh}x${vw}.inside_flags_allowed_border_${b}`).data, `${cs.tag} inside ${b}`);
        }
      }
    }
  }
});

test('config errors name the key', () => {
  expect(() => new AnchorGenerator({ strides: [8], ratios: [1] })).toThrow(/octave_base_scale/);
  expect(() => new AnchorGenerator({ strides: [8], ratios: [1], scales: [1], octave_base_scale: 4, scales_per_octave: 3 })).toThrow(/either scales/);
  expect(() => new AnchorGenerator({ strides: [], ratios: [1], scales: [1] })).toThrow(/anchor_generator.strides/);
});
