import { BBOX_SAMPLERS, type ConfigNode } from '@litv2/core';

/**
 * mmdet `PseudoSampler`: keeps every assigned anchor (positives and negatives), as focal-loss heads need. The
 * anchor heads apply it implicitly over all anchors at once; the class marks which sampling a config asked for.
 */
export class PseudoSampler {
  readonly samplesAll = true;
}

BBOX_SAMPLERS.register('PseudoSampler', { defaults: {} as ConfigNode, build: () => new PseudoSampler() });
