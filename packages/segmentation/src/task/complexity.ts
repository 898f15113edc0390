import { convFlops, type Backbone } from '@litv2/core';
import type { EncoderDecoder } from '../models/encoder_decoder';
import type { FPNHead } from '../models/fpn_head';

/** Parameter counts (elements of trainable tensors; BN running stats excluded) per part. */
export function segmentorParams(model: EncoderDecoder): { backbone: number; neck: number; head: number; total: number } {
  const count = (prefix: string) => model.namedEntries().filter(([n, p]) => n.startsWith(prefix) && !p.buffer).reduce((a, [, p]) => a + p.variable.size, 0);
  const backbone = count('backbone.');
  const neck = count('neck.');
  const head = count('decode_head.');
  return { backbone, neck, head, total: backbone + neck + head };
}

export interface SegFlopsInput {
  /** The built backbone: it counts its own FLOPs and reports the sizes of its maps. */
  backbone: Pick<Backbone, 'flops'>;
  neck: { in_channels: number[]; out_channels: number };
  head: { channels: number; num_classes: number; feature_strides: number[] };
}

/**
 * Analytic multiply-accumulates of Semantic FPN at h×w, counted the way the authors count LITv2 (conv/matmul
 * MACs plus one op per output for biases and norms): the backbone's own count (`Backbone.flops`; for LITv2 the
 * official rules, classifier and final norm removed, the four output norms added), FPN laterals and 3×3 convs, the
 * FPNHead conv-BN blocks and conv_seg. Upsampling and the final resize are not counted (as mmcv does not).
 */
export function semFpnFlops(cfg: SegFlopsInput, h: number, w: number): { backbone: number; neck: number; head: number; total: number } {
  const { total: backbone, outSizes: levels } = cfg.backbone.flops([h, w]);
  const c = cfg.neck.out_channels;
  let neck = 0;
  cfg.neck.in_channels.forEach((cin, i) => {
    const [lh, lw] = levels[i];
    neck += convFlops(1, cin, c, 1, 0, lh, lw) + convFlops(3, c, c, 1, 1, lh, lw);
  });
  let head = 0;
  const ch = cfg.head.channels;
  cfg.head.feature_strides.forEach((s, i) => {
    const n = Math.max(1, Math.trunc(Math.log2(s) - Math.log2(cfg.head.feature_strides[0])));
    let [lh, lw] = levels[i];
    for (let k = 0; k < n; k++) {
      head += convFlops(3, k === 0 ? c : ch, ch, 1, 1, lh, lw, 1, false) + lh * lw * ch; // conv + BN
      if (s !== cfg.head.feature_strides[0]) [lh, lw] = [lh * 2, lw * 2];
    }
  });
  head += convFlops(1, ch, cfg.head.num_classes, 1, 0, levels[0][0], levels[0][1]);
  return { backbone, neck, head, total: backbone + neck + head };
}

/** The FLOPs inputs of a built segmentor: its backbone, and the neck / decode head config nodes. */
export function flopsInputFromConfig(model: { neck: unknown; decode_head: unknown }, backbone: Pick<Backbone, 'flops'>): SegFlopsInput {
  const nk = model.neck as SegFlopsInput['neck'];
  const hd = model.decode_head as { channels: number; num_classes: number; feature_strides: number[] };
  return { backbone, neck: nk, head: hd };
}

export type { FPNHead };
