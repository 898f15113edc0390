/**
 * The transforms that read files (mmdet's LoadImageFromFile / LoadAnnotations): Node-only, so they live
 * apart from the geometric and photometric transforms of transforms.ts, which also run in a browser.
 */
import * as path from 'node:path';
import { ConfigError } from '../registry/registry';
import { readImage, readLabelPng } from './image';
import { TRANSFORMS } from './pipeline';
import { reduceZeroLabel } from './transforms';
import type { Transform } from './types';

function resolvePath(file: string, prefix: string | undefined): string {
  return prefix && !path.isAbsolute(file) ? path.join(prefix, file) : file;
}

TRANSFORMS.register('LoadImageFromFile', {
  defaults: { to_float32: false, color_type: 'color', file_client_args: undefined as unknown, imdecode_backend: undefined as unknown },
  build: (cfg): Transform => ({
    type: 'LoadImageFromFile',
    async apply(s) {
      const file = resolvePath(s.info.filename, s.info.imgPrefix);
      let img = await readImage(file);
      if (cfg.to_float32) img = { ...img, data: Float32Array.from(img.data) };
      const shape: [number, number, number] = [img.height, img.width, 3];
      s.img = img;
      s.meta = { ...s.meta, filename: file, ori_filename: s.info.filename, ori_shape: shape, img_shape: shape, pad_shape: shape };
      return s;
    },
  }),
});

TRANSFORMS.register('LoadAnnotations', {
  defaults: { with_bbox: true, with_label: true, with_mask: false, with_seg: false, poly2mask: true, reduce_zero_label: false, file_client_args: undefined as unknown, imdecode_backend: undefined as unknown },
  build: (cfg, _ctx, origin): Transform => ({
    type: 'LoadAnnotations',
    async apply(s) {
      const ann = s.info.ann;
      // mmseg's LoadAnnotations has no with_bbox; a dataset without boxes simply has no `ann`.
      if (cfg.with_bbox && ann) {
        s.gt_bboxes = ann.bboxes.slice();
        if (ann.bboxesIgnore) s.gt_bboxes_ignore = ann.bboxesIgnore.slice();
      }
      if (cfg.with_label && ann) s.gt_labels = ann.labels.slice();
      if (cfg.with_mask) {
        if (!ann?.masks) throw new Error(`${s.info.filename}: with_mask is set but the annotation has no polygons`);
        s.gt_masks = ann.masks.map((inst) => inst.map((ring) => ring.slice()));
      }
      if (cfg.with_seg) {
        if (!s.info.segMap) throw new ConfigError(`with_seg is set but sample '${s.info.filename}' has no label map`, origin);
        const map = readLabelPng(resolvePath(s.info.segMap, s.info.segPrefix));
        if (cfg.reduce_zero_label) reduceZeroLabel(map);
        s.gt_semantic_seg = map;
      }
      return s;
    },
  }),
});

