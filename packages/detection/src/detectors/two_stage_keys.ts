/**
 * Keys of the two-stage detector's parts (mmdet 2.11 names and defaults), registered so every part is known to
 * its registry, and `checkTwoStageKeys`: every node of a Mask R-CNN / Faster R-CNN `model` checked at any depth
 * (typed children through their registries' `resolve`, train_cfg / test_cfg against their schemas) before any
 * part is built, so a misspelt key is an error with the dotted key and a suggestion.
 */
import {
  BBOX_ASSIGNERS,
  BBOX_CODERS,
  BBOX_SAMPLERS,
  HEADS,
  LOSSES,
  PRIOR_GENERATORS,
  ROI_EXTRACTORS,
  isMapping,
  validateKeys,
  type ConfigNode,
  type ConfigOrigin,
  type KeySchema,
  type Registry,
} from '@litv2/core';
import { RPNHead, type RPNHeadConfig } from '../heads/rpn_head';
import { ANCHOR_TRAIN_CFG_SCHEMA, NMS_CFG_SCHEMA } from '../heads/anchor_head';
import { StandardRoIHead, type StandardRoIHeadConfig } from '../roi_heads/standard_roi_head';
import { Shared2FCBBoxHead, type Shared2FCBBoxHeadConfig } from '../roi_heads/bbox_heads/shared2fc_bbox_head';
import { FCNMaskHead, type FCNMaskHeadConfig } from '../roi_heads/mask_heads/fcn_mask_head';
import { SingleRoIExtractor, type SingleRoIExtractorConfig } from '../roi_heads/roi_extractors/single_roi_extractor';
import { RandomSampler } from '../task_modules/samplers/random_sampler';

const u = undefined;
HEADS.register('RPNHead', {
  defaults: { in_channels: u, feat_channels: 256, anchor_generator: u, bbox_coder: u, reg_decoded_bbox: false, loss_cls: u, loss_bbox: u, train_cfg: null, proposal_cfg: null, test_cfg: null, init_cfg: u, num_classes: 1 },
  build: (cfg, _ctx, origin) => new RPNHead(cfg as unknown as RPNHeadConfig, origin),
});
HEADS.register('StandardRoIHead', {
  defaults: { bbox_roi_extractor: u, bbox_head: u, mask_roi_extractor: null, mask_head: null, shared_head: null, train_cfg: null, test_cfg: null, pretrained: null, init_cfg: u },
  build: (cfg, _ctx, origin) => new StandardRoIHead(cfg as unknown as StandardRoIHeadConfig, origin),
});
HEADS.register('Shared2FCBBoxHead', {
  defaults: { in_channels: u, fc_out_channels: 1024, roi_feat_size: 7, num_classes: u, bbox_coder: u, reg_class_agnostic: false, reg_decoded_bbox: false, loss_cls: u, loss_bbox: u, init_cfg: u },
  build: (cfg, _ctx, origin) => new Shared2FCBBoxHead(cfg as unknown as Shared2FCBBoxHeadConfig, origin),
});
HEADS.register('FCNMaskHead', {
  defaults: { num_convs: 4, in_channels: u, conv_out_channels: 256, conv_kernel_size: 3, roi_feat_size: 14, num_classes: u, upsample_cfg: { type: 'deconv', scale_factor: 2 }, class_agnostic: false, loss_mask: u, conv_cfg: null, norm_cfg: null, init_cfg: u },
  build: (cfg, _ctx, origin) => new FCNMaskHead(cfg as unknown as FCNMaskHeadConfig, origin),
});
ROI_EXTRACTORS.register('SingleRoIExtractor', {
  defaults: { roi_layer: u, out_channels: u, featmap_strides: u, finest_scale: 56, init_cfg: u },
  check: (cfg, origin) => {
    if (isMapping(cfg.roi_layer)) validateKeys(cfg.roi_layer, { type: 'string', output_size: 'count', sampling_ratio: 'index', aligned: 'boolean', pool_mode: 'string', use_torchvision: 'boolean' }, { ...origin, path: `${origin.path}.roi_layer` });
  },
  build: (cfg, _ctx, origin) => new SingleRoIExtractor(cfg as unknown as SingleRoIExtractorConfig, origin),
});
BBOX_SAMPLERS.register('RandomSampler', {
  defaults: { num: u, pos_fraction: u, neg_pos_ub: -1, add_gt_as_proposals: true },
  build: (cfg, _ctx, origin) => new RandomSampler(cfg as never, origin),
});

const NMS = NMS_CFG_SCHEMA;
const PROPOSAL: KeySchema = { nms_pre: 'integer', max_per_img: 'count', nms: NMS, min_bbox_size: 'nonneg', nms_across_levels: 'boolean', nms_post: 'integer', max_num: 'integer', nms_thr: 'fraction' };
const TRAIN_CFG: KeySchema = {
  rpn: ANCHOR_TRAIN_CFG_SCHEMA,
  rpn_proposal: PROPOSAL,
  rcnn: { assigner: 'mapping', sampler: 'mapping', mask_size: 'count', pos_weight: 'number', debug: 'boolean' },
};
const TEST_CFG: KeySchema = { rpn: PROPOSAL, rcnn: { score_thr: 'fraction', nms: NMS, max_per_img: 'count', mask_thr_binary: 'fraction' } };

/** Resolves a typed child node through its registry (unknown keys are errors); absent or null nodes pass. */
function child(reg: Pick<Registry<unknown, never>, 'resolve'>, node: unknown, origin: ConfigOrigin): void {
  if (isMapping(node) && typeof node.type === 'string') reg.resolve(node, origin);
}

/** Checks every key of a two-stage `model` node (heads, their children, train_cfg and test_cfg) without building. */
export function checkTwoStageKeys(cfg: ConfigNode, origin: ConfigOrigin): void {
  const at = (p: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${p}` });
  const rpn = cfg.rpn_head as ConfigNode;
  HEADS.resolve(rpn, at('rpn_head'));
  child(PRIOR_GENERATORS, rpn.anchor_generator, at('rpn_head.anchor_generator'));
  child(BBOX_CODERS, rpn.bbox_coder, at('rpn_head.bbox_coder'));
  child(LOSSES, rpn.loss_cls, at('rpn_head.loss_cls'));
  child(LOSSES, rpn.loss_bbox, at('rpn_head.loss_bbox'));
  const roi = cfg.roi_head as ConfigNode;
  HEADS.resolve(roi, at('roi_head'));
  for (const k of ['bbox_roi_extractor', 'mask_roi_extractor']) child(ROI_EXTRACTORS, roi[k], at(`roi_head.${k}`));
  for (const k of ['bbox_head', 'mask_head']) {
    const h = roi[k];
    child(HEADS, h, at(`roi_head.${k}`));
    if (!isMapping(h)) continue;
    child(BBOX_CODERS, h.bbox_coder, at(`roi_head.${k}.bbox_coder`));
    for (const l of ['loss_cls', 'loss_bbox', 'loss_mask']) child(LOSSES, h[l], at(`roi_head.${k}.${l}`));
  }
  for (const [sec, schema] of [['train_cfg', TRAIN_CFG], ['test_cfg', TEST_CFG]] as const) {
    const node = cfg[sec];
    if (!isMapping(node)) continue;
    validateKeys(node, schema, at(sec));
    for (const stage of ['rpn', 'rcnn']) {
      const s = node[stage];
      if (!isMapping(s)) continue;
      child(BBOX_ASSIGNERS, s.assigner, at(`${sec}.${stage}.assigner`));
      child(BBOX_SAMPLERS, s.sampler, at(`${sec}.${stage}.sampler`));
    }
  }
}
