import type { ConfigNode } from '@litv2/core';
import { RetinaHead, type RetinaHeadConfig } from './heads/retina_head';
import { RetinaNet, type RetinaNetConfig } from './detectors/retinanet';
import { DETECTORS, HEADS } from './registries';

const HEAD_DEFAULTS: ConfigNode = {
  num_classes: undefined,
  in_channels: undefined,
  stacked_convs: 4,
  feat_channels: 256,
  conv_cfg: null,
  norm_cfg: null,
  anchor_generator: undefined,
  bbox_coder: { type: 'DeltaXYWHBBoxCoder', target_means: [0, 0, 0, 0], target_stds: [1, 1, 1, 1] },
  reg_decoded_bbox: false,
  loss_cls: { type: 'FocalLoss', use_sigmoid: true, gamma: 2, alpha: 0.25, loss_weight: 1 },
  loss_bbox: { type: 'L1Loss', loss_weight: 1 },
  train_cfg: null,
  test_cfg: null,
  init_cfg: undefined,
};

if (!HEADS.has('RetinaHead')) {
  HEADS.register('RetinaHead', { defaults: HEAD_DEFAULTS, build: (cfg, _ctx, origin) => new RetinaHead(cfg as unknown as RetinaHeadConfig, origin) });
}

if (!DETECTORS.has('RetinaNet')) {
  DETECTORS.register('RetinaNet', {
    defaults: { backbone: undefined, neck: undefined, bbox_head: undefined, train_cfg: null, test_cfg: null, pretrained: null, init_cfg: undefined },
    build: (cfg, _ctx, origin) => new RetinaNet(cfg as unknown as RetinaNetConfig, origin),
  });
}

/** Builds a detector from the `model` section of a config. */
export function buildDetector(cfg: ConfigNode, file?: string): RetinaNet {
  return DETECTORS.build(cfg, undefined, { file, path: 'model' }) as RetinaNet;
}
