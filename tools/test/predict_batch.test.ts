/**
 * segmentation predict over several images: an image the model cannot take (2000x20) is reported by path, the
 * others are written, the exit status is 1; the label maps it writes are what eval-miou reads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend, loadConfig, saveCheckpoint } from '@litv2/core/node';
import { buildSegmentor } from '@litv2/segmentation';

const repoRoot = path.resolve(__dirname, '../..');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litv2-predict-batch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const photo = (name: string, width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 160, b: 40 } } }).png().toFile(path.join(tmp, name)).then(() => path.join(tmp, name));

test('a bad image is named, the rest are written, exit 1; eval-miou reads X_labels.png as the prediction of X.png', async () => {
  await initBackend({ quiet: true });
  const { cfg, file } = loadConfig('sem_fpn_litv2_tiny_synthetic', { configsDir: path.join(repoRoot, 'configs') });
  const model = buildSegmentor(cfg, file);
  const sd = model.stateDict();
  const ckpt = path.join(tmp, 'tiny.ckpt');
  await saveCheckpoint(ckpt, { model: sd, meta: {} });
  Object.values(sd).forEach((t) => t.dispose());
  model.dispose();
  const a = await photo('a.png', 96, 64);
  const thin = await photo('thin.png', 2000, 20);
  const b = await photo('b.jpg', 64, 64);
  const outDir = path.join(tmp, 'pred');
  const r = spawnSync(tsx, ['tools/predict.ts', '--task', 'segmentation', '--config', 'sem_fpn_litv2_tiny_synthetic', '--checkpoint', ckpt, '--image', a, '--image', thin, '--image', b, '--out-dir', outDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, LITV2_QUIET_BACKEND: '1' },
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`${thin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: failed: `));
  expect(r.stderr).toMatch(/predict: 1 of 3 image\(s\) failed: .*thin\.png/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(fs.readdirSync(outDir).sort()).toEqual(['a_labels.png', 'a_mask.png', 'b_labels.png', 'b_mask.png']);

  // GT named as the images (a.png, b.png): eval-miou finds a_labels.png / b_labels.png and ignores the masks
  const gtDir = path.join(tmp, 'gt');
  fs.mkdirSync(gtDir);
  fs.copyFileSync(path.join(outDir, 'a_labels.png'), path.join(gtDir, 'a.png'));
  fs.copyFileSync(path.join(outDir, 'b_labels.png'), path.join(gtDir, 'b.png'));
  const m = spawnSync(tsx, ['tools/eval-miou.ts', '--pred', outDir, '--gt', gtDir, '--num-classes', '5', '--json'], { cwd: repoRoot, encoding: 'utf8' });
  expect(m.stderr).toBe('');
  expect(m.status).toBe(0);
  expect(JSON.parse(m.stdout).aAcc).toBe(1);
}, 240_000);
