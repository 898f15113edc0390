/**
 * Every registered type of every core registry, after every task package has registered its types (timm's
 * test_models.py pattern over list_models()): an unknown key and a one-letter typo of each of its keys are
 * rejected with the file, the dotted key and a suggestion, and a type whose keys all have defaults builds from
 * them. A newly registered type is covered without touching this file.
 */
import * as core from '@litv2/core';
import { ConfigError, type ConfigNode, type Registry } from '@litv2/core';
import '@litv2/detection';
import '@litv2/segmentation';
import '@litv2/classification';

const REGISTRIES: Record<string, Registry<unknown, unknown>> = Object.fromEntries(
  Object.entries(core).filter(([, v]) => v instanceof core.Registry) as [string, Registry<unknown, unknown>][],
);
const ALL = Object.entries(REGISTRIES).flatMap(([name, reg]) => reg.types().map((t) => [name, t] as const));
/** Registries whose builders read files or need a model: keys are checked, nothing is built. */
const NOT_BUILT = new Set(['DATASETS', 'OPTIMIZERS', 'TRANSFORMS']);

test('the registries hold every task package type', () => {
  const names = ALL.map(([r, t]) => `${r}.${t}`);
  expect(names).toEqual(
    expect.arrayContaining([
      'DETECTORS.RetinaNet', 'DETECTORS.MaskRCNN', 'HEADS.RetinaHead', 'HEADS.FPNHead', 'SEGMENTORS.EncoderDecoder', 'CLASSIFIERS.ImageClassifier',
      'CLS_BACKBONES.LITv2', 'LOSSES.FocalLoss', 'LOSSES.CrossEntropyLoss', 'BBOX_ASSIGNERS.MaxIoUAssigner', 'BBOX_CODERS.DeltaXYWHBBoxCoder',
      'PRIOR_GENERATORS.AnchorGenerator', 'BBOX_SAMPLERS.PseudoSampler', 'DATASETS.CocoDataset', 'DATASETS.ADE20KDataset', 'NECKS.FPN',
      'BACKBONES.LITv2', 'OPTIMIZERS.AdamW', 'LR_SCHEDULES.step', 'HOOKS.CurvePlotHook', 'TRANSFORMS.Resize',
    ]),
  );
});

describe.each(ALL)('%s %s', (regName, type) => {
  const reg = REGISTRIES[regName];
  const origin = { file: 'cfg.yaml', path: 'x' };
  const defaults = reg.defaultsOf(type);
  const node = (extra: ConfigNode): ConfigNode => ({ [reg.typeKey]: type, ...extra });

  test('rejects an unknown key and a typo of each of its keys with file, dotted key and suggestion', () => {
    expect(() => reg.resolve(node({ zz_not_a_key: 1 }), origin)).toThrow(/^cfg\.yaml: x\.zz_not_a_key: unknown key 'zz_not_a_key'/);
    const keys = Object.keys(defaults);
    for (const key of keys) {
      if (key.length < 4) continue;
      const typo = key.slice(0, -1);
      if (keys.includes(typo)) continue;
      let err: unknown;
      try {
        reg.resolve(node({ [typo]: defaults[key] ?? 1 }), origin);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(new RegExp(`^cfg\\.yaml: x\\.${typo}: unknown key '${typo}'.*did you mean '${key}'`));
    }
  });

  const required = Object.entries(defaults).filter(([, v]) => v === undefined).map(([k]) => k);
  if (!NOT_BUILT.has(regName) && required.length === 0) {
    test('builds from its defaults alone', () => {
      const ctx = regName === 'LR_SCHEDULES' ? { baseLr: 0.01 } : undefined;
      const built = reg.build(node({}), ctx, origin) as { dispose?: () => void } | null;
      expect(built).toBeTruthy();
      built?.dispose?.();
    });
  }
});
