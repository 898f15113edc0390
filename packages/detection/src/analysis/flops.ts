import { convFlops, type Backbone } from '@litv2/core';

/** The `neck` and `bbox_head` config of a single-stage dense detector (FPN + RetinaHead-style towers). */
export type DenseDetectorFlopsConfig = { neck: NeckCfg; bbox_head: HeadCfg };

export interface DetFlopsBreakdown {
  backbone: number;
  neck: number;
  head: number;
  total: number;
  /** Feature-map sizes [h, w] of the head levels. */
  levels: [number, number][];
}

interface NeckCfg {
  in_channels: number[];
  out_channels: number;
  num_outs: number;
  start_level?: number;
  add_extra_convs?: boolean | string;
}
interface HeadCfg {
  num_classes: number;
  in_channels: number;
  stacked_convs?: number;
  feat_channels?: number;
  anchor_generator: { ratios: number[]; scales?: number[]; scales_per_octave?: number };
}

const convOut = (n: number, k: number, s: number, p: number) => Math.floor((n + 2 * p - k) / s) + 1;

/**
 * FLOPs of a single-stage dense detector (backbone + FPN + RetinaHead-style towers) on an h×w input, counted as the authors count (multiply-accumulates, plus one op per
 * output element for conv biases and norms):
 * - backbone: its own count (`Backbone.flops`; for LITv2 the official formula, SPEC §5), which also gives the
 *   sizes of the maps it returns;
 * - neck and head: every convolution at the feature sizes the network really produces (stage 0 at ceil(h/4),
 *   then halving with floor; P6/P7 by 3×3 stride-2 convs). Upsampling, additions and ReLUs are not counted
 *   (mmcv's counter does not see functional upsampling/additions either).
 */
export function denseDetectorFlops(model: { backbone: Pick<Backbone, 'flops'>; neck: NeckCfg; bbox_head: HeadCfg }, h: number, w: number): DetFlopsBreakdown {
  // The maps the backbone returns, in neck-input order, at the sizes the network really produces.
  const { total: backbone, outSizes: sizes } = model.backbone.flops([h, w]);
  const L = sizes.length;

  const n = model.neck;
  const start = n.start_level ?? 0;
  const out = n.out_channels;
  let neck = 0;
  const levels: [number, number][] = [];
  for (let i = start; i < n.in_channels.length; i++) {
    const [fh, fw] = sizes[i];
    neck += convFlops(1, n.in_channels[i], out, 1, 0, fh, fw) + convFlops(3, out, out, 1, 1, fh, fw);
    levels.push([fh, fw]);
  }
  const extra = n.num_outs - levels.length;
  for (let e = 0; e < extra; e++) {
    const [ph, pw] = levels[levels.length - 1];
    const cin = e === 0 && (n.add_extra_convs === 'on_input' || n.add_extra_convs === true) ? n.in_channels[n.in_channels.length - 1] : out;
    if (n.add_extra_convs) neck += convFlops(3, cin, out, 2, 1, e === 0 ? sizes[L - 1][0] : ph, e === 0 ? sizes[L - 1][1] : pw);
    levels.push([convOut(ph, 3, 2, 1), convOut(pw, 3, 2, 1)]);
  }

  const hd = model.bbox_head;
  const feat = hd.feat_channels ?? 256;
  const stacked = hd.stacked_convs ?? 4;
  const a = hd.anchor_generator.ratios.length * (hd.anchor_generator.scales?.length ?? hd.anchor_generator.scales_per_octave ?? 1);
  let head = 0;
  for (const [fh, fw] of levels) {
    for (let i = 0; i < stacked; i++) head += 2 * convFlops(3, i === 0 ? hd.in_channels : feat, feat, 1, 1, fh, fw);
    const last = stacked > 0 ? feat : hd.in_channels;
    head += convFlops(3, last, a * hd.num_classes, 1, 1, fh, fw) + convFlops(3, last, a * 4, 1, 1, fh, fw);
  }
  return { backbone, neck, head, total: backbone + neck + head, levels };
}
