import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, parseOptionValue, Registry, validateKeys, type KeySchema } from '@litv2/core';
import { dumpConfig, findConfigFile, loadConfig, parseArgs } from '@litv2/core/node';

const dir = path.join(__dirname, 'fixtures/configs');
const f = (rel: string) => path.join(dir, rel);
const load = (name: string, cfgOptions?: string[]) => loadConfig(name, { configsDir: dir, cfgOptions });

/** The error a function throws (fails the test if it does not throw). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('inheritance', () => {
  test('a list of bases merges in order, then the file on top; every key knows its file', () => {
    const c = load('retina_s');
    expect(c.file).toBe(f('detection/retina_s.yaml'));
    expect(c.name).toBe('retina_s');
    expect(c.cfg).toEqual({
      model: {
        type: 'ToyDetector',
        backbone: { type: 'ToyBackbone', embed_dim: 96, depths: [2, 2, 6, 2], alpha: 0.9, drop_path_rate: 0.2 },
        neck: { type: 'ToyNeck', in_channels: [96, 192, 384, 768], out_channels: 256 },
      },
      data: { batch_size: 2, workers: 2, train: { type: 'Synthetic', size: 8 } },
      runner: { type: 'EpochBasedRunner', max_epochs: 12 },
      optimizer: { type: 'AdamW', lr: 0.0002, weight_decay: 0.05 },
    });
    expect(c.origins('model.backbone.embed_dim')).toBe(f('_base_/models/net.yaml'));
    expect(c.origins('model.backbone.depths.1')).toBe(f('_base_/models/net.yaml'));
    expect(c.origins('model.backbone.drop_path_rate')).toBe(f('detection/retina_s.yaml'));
    expect(c.origins('optimizer.lr')).toBe(f('detection/retina_s.yaml'));
    expect(c.origins('optimizer.weight_decay')).toBe(f('_base_/runtime.yaml'));
    expect(c.origins('data.train.size')).toBe(f('_base_/datasets/data.yaml'));
    expect(c.originAt('runner.max_epochs')).toEqual({ file: f('_base_/runtime.yaml'), path: 'runner.max_epochs' });
  });

  test('a chain of single bases: lists replace, other keys are inherited', () => {
    const c = load('retina_m');
    expect(c.cfg.model).toMatchObject({ backbone: { depths: [2, 2, 18, 2], drop_path_rate: 0.2, alpha: 0.9 } });
    expect(c.origins('model.backbone.depths')).toBe(f('detection/retina_m.yaml'));
    expect(c.origins('model.backbone.depths.2')).toBe(f('detection/retina_m.yaml'));
    expect(c.origins('model.backbone.drop_path_rate')).toBe(f('detection/retina_s.yaml'));
  });

  test('_delete_: true replaces the sub-tree instead of merging', () => {
    const c = load('retina_sgd');
    expect(c.cfg.optimizer).toEqual({ type: 'SGD', lr: 0.01, momentum: 0.9 });
    expect(c.origins('optimizer.type')).toBe(f('detection/retina_sgd.yaml'));
    expect(JSON.stringify(c.cfg)).not.toContain('_delete_');
    expect(c.cfg.runner).toEqual({ type: 'EpochBasedRunner', max_epochs: 12 });
  });

  test('bad files: cycles, missing bases, YAML syntax errors name the file', () => {
    expect(errorOf(() => load(f('bad/cycle_a.yaml'))).message).toMatch(/circular _base_ chain: .*cycle_a\.yaml -> .*cycle_b\.yaml -> .*cycle_a\.yaml/);
    const missing = errorOf(() => load(f('bad/missing_base.yaml')));
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toMatch(/missing_base\.yaml: _base_: _base_ file '\.\.\/_base_\/nope\.yaml' not found/);
    expect(errorOf(() => load(f('bad/syntax.yaml'))).message).toMatch(/syntax\.yaml: invalid YAML: .*line \d+/);
  });
});

describe('--cfg-options overrides', () => {
  test('typed values: numbers, booleans, null, lists, quoted strings, list indices', () => {
    const c = load('retina_s', [
      'model.backbone.alpha=0.5',
      'data.batch_size=4',
      'x.y=[1,2]',
      'z=true',
      'w=null',
      's=abc',
      "q='1'",
      'e=1e-4',
      'model.neck.in_channels.0=48',
      'model.backbone.depths=[1, 1, 2, 1]',
      'data.train={type: Other, size: 3}',
    ]);
    const cfg = c.cfg as Record<string, any>;
    expect(cfg.model.backbone.alpha).toBe(0.5);
    expect(cfg.data.batch_size).toBe(4);
    expect(cfg.x).toEqual({ y: [1, 2] });
    expect(cfg.z).toBe(true);
    expect(cfg.w).toBeNull();
    expect(cfg.s).toBe('abc');
    expect(cfg.q).toBe('1');
    expect(cfg.e).toBe(1e-4);
    expect(cfg.model.neck.in_channels).toEqual([48, 192, 384, 768]);
    expect(cfg.model.backbone.depths).toEqual([1, 1, 2, 1]);
    expect(cfg.data.train).toEqual({ type: 'Other', size: 3 });
    expect(c.origins('model.backbone.alpha')).toBe('--cfg-options');
    expect(c.origins('model.neck.in_channels.0')).toBe('--cfg-options');
    expect(c.origins('model.backbone.embed_dim')).toBe(f('_base_/models/net.yaml'));
  });

  test('value parsing and bad items', () => {
    expect(parseOptionValue('0.5')).toBe(0.5);
    expect(parseOptionValue('-3')).toBe(-3);
    expect(parseOptionValue('false')).toBe(false);
    expect(parseOptionValue('"true"')).toBe('true');
    expect(parseOptionValue('[a, 2, null]')).toEqual(['a', 2, null]);
    expect(parseOptionValue('')).toBe('');
    expect(parseOptionValue('path/to/x.pth')).toBe('path/to/x.pth');
    expect(errorOf(() => load('retina_s', ['novalue'])).message).toMatch(/bad --cfg-options item 'novalue'/);
    expect(errorOf(() => load('retina_s', ['data.batch_size.x=1'])).message).toMatch(/cannot set 'data\.batch_size\.x': 'data\.batch_size' holds a number/);
    expect(errorOf(() => load('retina_s', ['model.neck.in_channels.9=1'])).message).toMatch(/index 9 is beyond the list of length 4/);
  });
});

describe('--config NAME lookup', () => {
  test('by name, by name with sub-folder, by path (with or without extension)', () => {
    expect(findConfigFile('retina_m', dir)).toBe(f('detection/retina_m.yaml'));
    expect(findConfigFile('retina_m.yaml', dir)).toBe(f('detection/retina_m.yaml'));
    expect(findConfigFile('detection/dup', dir)).toBe(f('detection/dup.yaml'));
    expect(findConfigFile(f('segmentation/dup.yaml'), dir)).toBe(f('segmentation/dup.yaml'));
    expect(findConfigFile(f('segmentation/dup'), dir)).toBe(f('segmentation/dup.yaml'));
    expect(load('segmentation/dup').cfg).toEqual({ which: 'segmentation' });
  });

  test('ambiguous names list the candidates; unknown names suggest the closest', () => {
    const amb = errorOf(() => findConfigFile('dup', dir)).message;
    expect(amb).toMatch(/config name 'dup' is ambiguous/);
    expect(amb).toContain(path.join('detection', 'dup.yaml'));
    expect(amb).toContain(path.join('segmentation', 'dup.yaml'));
    const unknown = errorOf(() => findConfigFile('retina_mm', dir));
    expect(unknown).toBeInstanceOf(ConfigError);
    expect(unknown.message).toMatch(/config 'retina_mm' not found .*\(did you mean 'retina_m'\?\)/);
  });
});

describe('validation', () => {
  const dataSchema: KeySchema = { batch_size: 'integer', workers: 'integer', train: { type: 'string', size: 'integer' }, val: 'mapping' };

  test('validateKeys: unknown key names the file that defined it, the dotted key and a suggestion', () => {
    const c = load(f('bad/typo_data.yaml'));
    const e = errorOf(() => validateKeys(c.cfg.data, dataSchema, { path: 'data', originOf: c.origins }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      `${f('bad/typo_data.yaml')}: data.batch_sise: unknown key 'batch_sise' (did you mean 'batch_size'?); allowed: batch_size, workers, train, val`,
    );
    expect(() => validateKeys(load('retina_s').cfg.data, dataSchema, { path: 'data' }, { required: ['batch_size'] })).not.toThrow();
  });

  test('validateKeys: wrong types, nested sections, required keys; CLI keys blame --cfg-options', () => {
    const c = load('retina_s', ['data.workers=two', 'data.train.size=1.5']);
    expect(errorOf(() => validateKeys(c.cfg.data, dataSchema, { path: 'data', originOf: c.origins })).message).toBe(
      `--cfg-options: data.workers: expected integer, got string "two"`,
    );
    const c2 = load('retina_s', ['data.train.size=1.5']);
    expect(errorOf(() => validateKeys(c2.cfg.data, dataSchema, { path: 'data', originOf: c2.origins })).message).toMatch(/data\.train\.size: expected integer, got number 1\.5/);
    const c3 = load('retina_s');
    expect(errorOf(() => validateKeys(c3.cfg.runner, { type: 'string' }, { path: 'runner', originOf: c3.origins })).message).toMatch(
      /runtime\.yaml: runner\.max_epochs: unknown key 'max_epochs'/,
    );
    expect(errorOf(() => validateKeys(c3.cfg.runner, { type: 'string', max_epochs: 'integer', max_iters: 'integer|null' }, { path: 'runner', file: c3.file }, { required: ['max_iters'] })).message).toMatch(
      /retina_s\.yaml: runner\.max_iters: missing required key 'max_iters'/,
    );
  });

  test('Registry errors for typed nodes name the file and dotted key via originAt', () => {
    const reg = new Registry<{ alpha: number }>('backbone');
    reg.register('ToyBackbone', {
      defaults: { embed_dim: 96, depths: [2, 2, 6, 2], alpha: 0.9, drop_path_rate: 0.1 },
      build: (cfg) => ({ alpha: cfg.alpha as number }),
    });
    const ok = load('retina_s', ['model.backbone.alpha=0.5']);
    const model = ok.cfg.model as Record<string, Record<string, unknown>>;
    expect(reg.build(model.backbone, undefined, ok.originAt('model.backbone')).alpha).toBe(0.5);

    const bad = load(f('bad/typo_backbone.yaml'));
    const e = errorOf(() => reg.build((bad.cfg.model as Record<string, Record<string, unknown>>).backbone, undefined, bad.originAt('model.backbone')));
    expect(e.message).toBe(`${f('bad/typo_backbone.yaml')}: model.backbone.alpah: unknown key 'alpah' for backbone 'ToyBackbone' (did you mean 'alpha'?)`);
  });
});

describe('dumpConfig and parseArgs', () => {
  test('the dumped YAML reloads to the same config', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-cfg-'));
    try {
      const c = load('retina_sgd', ['s="007"', 'x=[1, 2.5, "a: b"]']);
      const out = path.join(tmp, 'work/config.yaml');
      dumpConfig(c.cfg, out, { header: 'merged from retina_sgd' });
      expect(fs.readFileSync(out, 'utf8').startsWith('# merged from retina_sgd\n')).toBe(true);
      expect(loadConfig(out).cfg).toEqual(c.cfg);
      expect((c.cfg as Record<string, unknown>).s).toBe('007');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('parseArgs: known flags, --cfg-options until the next flag, pass-through flags', () => {
    const a = parseArgs([
      '--config', 'retina_s', '--cfg-options', 'a.b=1', 'c=[1,2]', 'd=-0.5', '--work-dir', 'work_dirs/x', '--resume',
      '--task', 'detection', '--fp16', '--seed=3', '--checkpoint', 'w.pth', 'img.jpg',
    ]);
    expect(a).toEqual({
      config: 'retina_s',
      cfgOptions: ['a.b=1', 'c=[1,2]', 'd=-0.5'],
      workDir: 'work_dirs/x',
      resume: true,
      checkpoint: 'w.pth',
      flags: { task: 'detection', fp16: true, seed: '3' },
      occurrences: { task: ['detection'], fp16: [true], seed: ['3'] },
      positional: ['img.jpg'],
    });
    expect(parseArgs(['--resume', 'work/epoch_3.pth', '--work_dir=w', '--cfg-options=x=1']).resume).toBe('work/epoch_3.pth');
    expect(parseArgs(['--work_dir=w']).workDir).toBe('w');
    expect(parseArgs(['--cfg-options=x=1', 'y=2']).cfgOptions).toEqual(['x=1', 'y=2']);
    expect(() => parseArgs(['--config'])).toThrow(/--config needs a value/);
  });
});
