/**
 * Issue 11 / 17: a typo or a badly typed value anywhere in a run config is a one-line error naming the file,
 * the dotted key and a suggestion, before anything is built or written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateRunConfig } from '@litv2/core';
import { loadConfig } from '@litv2/core/node';
import '@litv2/detection';

const repoRoot = path.resolve(__dirname, '../..');
const configsDir = path.join(repoRoot, 'configs');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');

/** The first error of the synthetic RetinaNet config with these `--cfg-options`: run sections, then data.train. */
async function errorWith(...opts: string[]): Promise<string> {
  const l = loadConfig('retinanet_litv2_tiny_synthetic', { configsDir, cfgOptions: opts });
  try {
    validateRunConfig(l.cfg, { file: l.file, originOf: l.origins });
    const { detectionTask } = await import('@litv2/detection');
    // The dataset node and its pipeline are checked before any file is read (a temp root has no data).
    await detectionTask.buildDataset(l.cfg, 'train', { configFile: l.file, repoRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), skipBadSamples: false, log: () => {} });
  } catch (e) {
    const msg = (e as Error).message;
    return /not found/.test(msg) ? 'accepted' : msg;
  }
  return 'accepted';
}

test.each([
  ['runner.max_epoch=1', /--cfg-options: runner\.max_epoch: unknown key 'max_epoch' \(did you mean 'max_epochs'\?\)/],
  ['optimzer.lr=0.1', /--cfg-options: optimzer: unknown top-level key 'optimzer' \(did you mean 'optimizer'\?\)/],
  ['data.train.ann_fille=x.json', /data\.train\.ann_fille: unknown key 'ann_fille' for dataset 'CocoDataset' \(did you mean 'ann_file'\?\)/],
  ['data.tset.ann_file=x.json', /--cfg-options: data\.tset: unknown key 'tset' \(did you mean 'test'\?\)/],
  ['evaluation.intervl=2', /--cfg-options: evaluation\.intervl: unknown key 'intervl' \(did you mean 'interval'\?\)/],
  ['checkpoint_config.intrval=2', /--cfg-options: checkpoint_config\.intrval: unknown key 'intrval' \(did you mean 'interval'\?\)/],
  ['runner.max_epochs=five', /runner\.max_epochs: expected an integer >= 1, got string "five"/],
  ['data.samples_per_gpu=[1,2]', /data\.samples_per_gpu: expected an integer >= 1, got list \[1,2\]/],
  ['optimizer.lr=-1', /optimizer\.lr: expected a number > 0, got number -1/],
  ['runner.max_epochs=0', /runner\.max_epochs: expected an integer >= 1, got number 0/],
  ['data.samples_per_gpu=0', /data\.samples_per_gpu: expected an integer >= 1, got number 0/],
  ['data.train.pipeline.2.keep_ration=true', /data\.train\.pipeline\.2\.keep_ration: unknown key 'keep_ration' for transform 'Resize' \(did you mean 'keep_ratio'\?\)/],
])('%s is rejected with the key and a suggestion', async (opt, expected) => {
  expect(await errorWith(opt)).toMatch(expected);
});

test('legitimate mmdet 2.x runtime keys are accepted', async () => {
  expect(
    await errorWith(
      'auto_scale_lr={enable: false, base_batch_size: 16}',
      "dist_params={backend: 'gloo'}",
      'data.workers_per_gpu=2',
      'find_unused_parameters=false',
      'gpu_ids=[0]',
      'log_level=INFO',
      "workflow=[['train', 1]]",
      'load_from=null',
      'resume_from=null',
    ),
  ).toBe('accepted');
});

test('test_cfg.score_thr=high is rejected when the model is built (nothing evaluated, nothing overwritten)', async () => {
  const { detectionTask } = await import('@litv2/detection');
  const l = loadConfig('retinanet_litv2_tiny_synthetic', { configsDir, cfgOptions: ['model.test_cfg.score_thr=high'] });
  await expect(Promise.resolve().then(() => detectionTask.buildModel(l.cfg, { configFile: l.file, repoRoot, skipBadSamples: false, log: () => {} }))).rejects.toThrow(
    /model\.test_cfg\.score_thr: expected a number in \[0, 1\], got string "high"/,
  );
});

test.each([
  ['model.bbox_head.stacked_conv=2', /^train: .*model\.bbox_head\.stacked_conv: unknown key 'stacked_conv' for head 'RetinaHead' \(did you mean 'stacked_convs'\?\)$/],
  ['runner.max_epoch=1', /^train: .*runner\.max_epoch: unknown key 'max_epoch' \(did you mean 'max_epochs'\?\)/],
])('tools/train.ts --cfg-options %s: one-line error, exit non-zero, no stack trace, work dir untouched', (opt, expected) => {
  const workDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-cli-')), 'run');
  const r = spawnSync(tsx, ['tools/train.ts', '--task', 'detection', '--config', 'retinanet_litv2_tiny_synthetic', '--work-dir', workDir, '--cfg-options', opt], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, LITV2_QUIET_BACKEND: '1' },
  });
  expect(r.status).not.toBe(0);
  const lines = r.stderr.trim().split('\n').filter((l) => l.trim() && !/tfjs-node|=====|TensorFlow\.js|speed things up/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(expected);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(fs.existsSync(workDir)).toBe(false);
});
