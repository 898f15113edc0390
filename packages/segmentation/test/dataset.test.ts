import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '@litv2/core';
import { encodeLabelPng, encodeRgbPng } from '@litv2/core/node';
import { DATASETS } from '@litv2/core';
import { ADE20K_CLASSES, ADE20K_PALETTE, SegDataset } from '../src/data';

describe('segmentation datasets', () => {
  test('ADE20K: a clear error naming the expected layout when the data is absent', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ade-missing-'));
    expect(() =>
      DATASETS.build({ type: 'ADE20KDataset', data_root: 'data/ade/ADEChallengeData2016', img_dir: 'images/validation', ann_dir: 'annotations/validation', pipeline: [] }, { repoRoot: root, train: false }, { file: 'configs/x.yaml', path: 'data.val' }),
    ).toThrow(/configs\/x\.yaml: data\.val: image directory .*ADEChallengeData2016\/images\/validation does not exist.*ADEChallengeData2016\/\{images,annotations\}\/\{training,validation\}/);
    expect(() => DATASETS.build({ type: 'ADE20KDataset', data_root: 'data/ade/ADEChallengeData2016', img_dir: 'images/validation', ann_dir: 'annotations/validation', pipeline: [] }, { repoRoot: root, train: false }, { file: 'configs/x.yaml', path: 'data.val' })).toThrow(/download http:\/\/data\.csail\.mit\.edu\/places\/ADEchallenge\/ADEChallengeData2016\.zip and unzip it into data\/ade\//);
    expect(ADE20K_CLASSES.length).toBe(150);
    expect(ADE20K_PALETTE.length).toBe(150);
  });

  test('ADE20K layout: pairs <name>.jpg with <name>.png, loads the label map with reduce_zero_label', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ade-'));
    const imgDir = path.join(root, 'data/ade/ADEChallengeData2016/images/training');
    const annDir = path.join(root, 'data/ade/ADEChallengeData2016/annotations/training');
    fs.mkdirSync(imgDir, { recursive: true });
    fs.mkdirSync(annDir, { recursive: true });
    for (const name of ['b', 'a']) {
      // PNG bytes under a .jpg name are fine for the decoder; ADE20K fixes the suffixes.
      fs.writeFileSync(path.join(imgDir, `ADE_${name}.jpg`), await encodeRgbPng({ data: new Uint8Array(4 * 6 * 3).fill(100), height: 4, width: 6, channels: 3 }));
      fs.writeFileSync(path.join(annDir, `ADE_${name}.png`), encodeLabelPng({ data: Uint8Array.from({ length: 24 }, (_, i) => i % 4), height: 4, width: 6 }));
    }
    const ds = DATASETS.build(
      { type: 'ADE20KDataset', data_root: 'data/ade/ADEChallengeData2016', img_dir: 'images/training', ann_dir: 'annotations/training', pipeline: [{ type: 'LoadImageFromFile' }, { type: 'LoadAnnotations', reduce_zero_label: true }] },
      { repoRoot: root, train: false },
    ) as SegDataset;
    expect(ds.length).toBe(2);
    expect(ds.info(0).filename).toBe('ADE_a.jpg');
    expect(ds.segMapFile(1)).toBe(path.join(annDir, 'ADE_b.png'));
    expect(ds.opts.reduceZeroLabel).toBe(true);
    const s = await ds.get(0, new Rng(0));
    expect(Array.from(s!.gt_semantic_seg!.data.slice(0, 4))).toEqual([255, 0, 1, 2]);
    expect(s!.img!.height).toBe(4);
  });
});
