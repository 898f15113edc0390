import { ConfigError, random, type ConfigOrigin } from '@litv2/core';

export interface RandomSamplerConfig {
  type?: 'RandomSampler';
  num: number;
  pos_fraction: number;
  neg_pos_ub?: number;
  add_gt_as_proposals?: boolean;
}

/** Indices drawn by a sampler; all refer to the candidate list (gts first when they were added as proposals). */
export interface SamplingResult {
  /** Sorted indices of the positive candidates. */
  posInds: Int32Array;
  /** Sorted indices of the negative candidates. */
  negInds: Int32Array;
  /** gt index (0-based) of each positive. */
  posAssignedGtInds: Int32Array;
  /** 1 where the positive is a gt box added as a proposal. */
  posIsGt: Uint8Array;
  /** Number of gts placed in front of the proposals (0 unless add_gt_as_proposals). */
  numGtsAdded: number;
}

/**
 * mmdet 2.11 `RandomSampler`: up to num·pos_fraction positives (gt_inds > 0) and the rest negatives (gt_inds == 0),
 * each drawn uniformly without replacement when there are more candidates than wanted, then sorted (mmdet calls
 * `unique()`). The draw uses core's seeded stream (`seedEverything`), so runs are reproducible; it cannot reproduce
 * torch.randperm, which is why the parity fixture feeds the stored sample instead.
 */
export class RandomSampler {
  readonly num: number;
  readonly posFraction: number;
  readonly negPosUb: number;
  readonly addGtAsProposals: boolean;

  constructor(cfg: RandomSamplerConfig, origin: ConfigOrigin = { path: 'sampler' }) {
    const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
    if ((cfg.type ?? 'RandomSampler') !== 'RandomSampler') throw new ConfigError(`sampler type '${cfg.type}' is not supported (RandomSampler)`, at('type'));
    if (!Number.isInteger(cfg.num) || cfg.num <= 0) throw new ConfigError(`num must be a positive integer, got ${cfg.num}`, at('num'));
    if (!(cfg.pos_fraction >= 0 && cfg.pos_fraction <= 1)) throw new ConfigError(`pos_fraction must be in [0, 1], got ${cfg.pos_fraction}`, at('pos_fraction'));
    this.num = cfg.num;
    this.posFraction = cfg.pos_fraction;
    this.negPosUb = cfg.neg_pos_ub ?? -1;
    this.addGtAsProposals = cfg.add_gt_as_proposals ?? true;
  }

  /**
   * Samples from an assignment. `gtInds` (-1 ignore, 0 negative, k > 0 gt k-1) covers the proposals only; with
   * add_gt_as_proposals the `numGts` gts are put in front, each assigned to itself (mmdet `add_gt_`).
   */
  sample(gtInds: Int32Array, numGts: number): SamplingResult {
    const added = this.addGtAsProposals ? numGts : 0;
    const all = new Int32Array(added + gtInds.length);
    for (let g = 0; g < added; g++) all[g] = g + 1;
    all.set(gtInds, added);
    const pos: number[] = [];
    const neg: number[] = [];
    all.forEach((v, i) => {
      if (v > 0) pos.push(i);
      else if (v === 0) neg.push(i);
    });
    const numExpectedPos = Math.floor(this.num * this.posFraction);
    const posInds = choose(pos, numExpectedPos);
    let numExpectedNeg = this.num - posInds.length;
    if (this.negPosUb >= 0) numExpectedNeg = Math.min(numExpectedNeg, Math.floor(this.negPosUb * Math.max(1, posInds.length)));
    const negInds = choose(neg, numExpectedNeg);
    const posAssignedGtInds = posInds.map((i) => all[i] - 1);
    const posIsGt = Uint8Array.from(posInds, (i) => (i < added ? 1 : 0));
    return { posInds, negInds, posAssignedGtInds, posIsGt, numGtsAdded: added };
  }
}

/** `k` of `candidates` uniformly without replacement (all of them when there are at most k), sorted. */
function choose(candidates: number[], k: number): Int32Array {
  if (candidates.length <= k) return Int32Array.from(candidates);
  // Partial Fisher-Yates: the first k slots become a uniform k-subset.
  const c = candidates.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (c.length - i));
    const t = c[i];
    c[i] = c[j];
    c[j] = t;
  }
  return Int32Array.from(c.slice(0, k)).sort();
}
