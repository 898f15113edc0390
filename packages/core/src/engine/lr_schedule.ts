/**
 * Learning-rate policies with mmcv 1.x `LrUpdaterHook` semantics. `lrAt(pos)` is a pure function of the
 * training position, so a resumed run gets the same rates without any saved scheduler state.
 * - by_epoch policies (step, cosine by epoch) compute the "regular" rate from the 0-based epoch index;
 *   by-iteration policies (poly) from the 0-based global iteration.
 * - Warm-up always counts global iterations: while iter < warmup_iters the rate is
 *   linear: regular * (1 - (1 - iter/warmup_iters) * (1 - warmup_ratio)); constant: regular * ratio;
 *   exp: regular * ratio ** (1 - iter/warmup_iters).
 */
import { ConfigError, type ConfigNode, type ConfigOrigin } from '../registry/registry';
import { LR_SCHEDULES } from '../registry/registries';

export interface TrainPosition {
  /** 0-based global iteration about to run. */
  iter: number;
  /** 0-based epoch being run. */
  epoch: number;
  maxIters: number;
  maxEpochs: number;
}

export interface LrSchedule {
  /** Multiplier-free learning rate for the base group at `pos`. */
  lrAt(pos: TrainPosition): number;
}

type Warmup = { kind: 'linear' | 'constant' | 'exp'; iters: number; ratio: number } | undefined;

function applyWarmup(regular: number, iter: number, w: Warmup): number {
  if (!w || iter >= w.iters) return regular;
  if (w.kind === 'constant') return regular * w.ratio;
  if (w.kind === 'linear') return regular * (1 - (1 - iter / w.iters) * (1 - w.ratio));
  return regular * w.ratio ** (1 - iter / w.iters);
}

export interface StepOptions {
  baseLr: number;
  /** Epochs (or iterations when !byEpoch) after which lr is multiplied by gamma. */
  step: number[] | number;
  gamma?: number;
  minLr?: number;
  byEpoch?: boolean;
  warmup?: Warmup;
}

/** mmcv StepLrUpdaterHook: lr = base * gamma^(number of milestones <= progress). */
export function stepSchedule(o: StepOptions): LrSchedule {
  const gamma = o.gamma ?? 0.1;
  const byEpoch = o.byEpoch ?? true;
  return {
    lrAt(pos) {
      const progress = byEpoch ? pos.epoch : pos.iter;
      let exp: number;
      if (typeof o.step === 'number') exp = Math.floor(progress / o.step);
      else {
        exp = o.step.length;
        for (let i = 0; i < o.step.length; i++) {
          if (progress < o.step[i]) {
            exp = i;
            break;
          }
        }
      }
      let lr = o.baseLr * gamma ** exp;
      if (o.minLr !== undefined) lr = Math.max(lr, o.minLr);
      return applyWarmup(lr, pos.iter, o.warmup);
    },
  };
}

export interface PolyOptions {
  baseLr: number;
  power?: number;
  minLr?: number;
  byEpoch?: boolean;
  warmup?: Warmup;
}

/** mmcv PolyLrUpdaterHook: (base - min) * (1 - progress/max)^power + min. */
export function polySchedule(o: PolyOptions): LrSchedule {
  const power = o.power ?? 1;
  const minLr = o.minLr ?? 0;
  const byEpoch = o.byEpoch ?? false;
  return {
    lrAt(pos) {
      const [p, max] = byEpoch ? [pos.epoch, pos.maxEpochs] : [pos.iter, pos.maxIters];
      const coeff = (1 - p / max) ** power;
      return applyWarmup((o.baseLr - minLr) * coeff + minLr, pos.iter, o.warmup);
    },
  };
}

export interface CosineOptions {
  baseLr: number;
  minLr?: number;
  minLrRatio?: number;
  byEpoch?: boolean;
  warmup?: Warmup;
}

/** mmcv CosineAnnealingLrUpdaterHook: target + (base - target) * (1 + cos(pi * progress/max)) / 2. */
export function cosineSchedule(o: CosineOptions): LrSchedule {
  const byEpoch = o.byEpoch ?? true;
  const target = o.minLrRatio !== undefined ? o.baseLr * o.minLrRatio : o.minLr ?? 0;
  return {
    lrAt(pos) {
      const [p, max] = byEpoch ? [pos.epoch, pos.maxEpochs] : [pos.iter, pos.maxIters];
      const lr = target + ((o.baseLr - target) * (1 + Math.cos((Math.PI * p) / max))) / 2;
      return applyWarmup(lr, pos.iter, o.warmup);
    },
  };
}

/** Fixed rate (mmcv policy 'fixed'), optionally warmed up. */
export function fixedSchedule(baseLr: number, warmup?: Warmup): LrSchedule {
  return { lrAt: (pos) => applyWarmup(baseLr, pos.iter, warmup) };
}

const LR_KEYS: Record<string, string[]> = {
  step: ['step', 'gamma', 'min_lr'],
  poly: ['power', 'min_lr'],
  CosineAnnealing: ['min_lr', 'min_lr_ratio'],
  fixed: [],
};
const COMMON = ['by_epoch', 'warmup', 'warmup_iters', 'warmup_ratio', 'warmup_by_epoch'];

function readWarmup(cfg: ConfigNode, origin: ConfigOrigin): Warmup {
  const at = (k: string): ConfigOrigin => ({ ...origin, path: `${origin.path}.${k}` });
  if (cfg.warmup_by_epoch) throw new ConfigError(`warmup_by_epoch is not supported (warm-up counts iterations)`, at('warmup_by_epoch'));
  if (cfg.warmup === undefined || cfg.warmup === null) return undefined;
  const kind = String(cfg.warmup);
  if (!['linear', 'constant', 'exp'].includes(kind)) throw new ConfigError(`unknown warmup '${kind}' (linear, constant, exp)`, at('warmup'));
  const iters = Number(cfg.warmup_iters ?? 0);
  if (!Number.isInteger(iters) || iters < 0) throw new ConfigError(`warmup_iters must be an integer >= 0, got ${JSON.stringify(cfg.warmup_iters)}`, at('warmup_iters'));
  const ratio = Number(cfg.warmup_ratio ?? 0.1);
  if (!(ratio > 0 && ratio <= 1)) throw new ConfigError(`warmup_ratio must be in (0, 1], got ${JSON.stringify(cfg.warmup_ratio)}`, at('warmup_ratio'));
  return { kind: kind as 'linear', iters, ratio };
}

const num = (cfg: ConfigNode, k: string) => (cfg[k] === undefined || cfg[k] === null ? undefined : Number(cfg[k]));
const keysFor = (policy: string): ConfigNode => Object.fromEntries([...LR_KEYS[policy], ...COMMON].map((k) => [k, undefined]));

LR_SCHEDULES.register('step', {
  defaults: keysFor('step'),
  build: (cfg, { baseLr }, origin) =>
    stepSchedule({ baseLr, step: cfg.step as number[] | number, gamma: num(cfg, 'gamma'), minLr: num(cfg, 'min_lr'), byEpoch: cfg.by_epoch as boolean | undefined, warmup: readWarmup(cfg, origin) }),
});
LR_SCHEDULES.register('poly', {
  defaults: keysFor('poly'),
  build: (cfg, { baseLr }, origin) => polySchedule({ baseLr, power: num(cfg, 'power'), minLr: num(cfg, 'min_lr'), byEpoch: cfg.by_epoch as boolean | undefined, warmup: readWarmup(cfg, origin) }),
});
LR_SCHEDULES.register('CosineAnnealing', {
  defaults: keysFor('CosineAnnealing'),
  build: (cfg, { baseLr }, origin) =>
    cosineSchedule({ baseLr, minLr: num(cfg, 'min_lr'), minLrRatio: num(cfg, 'min_lr_ratio'), byEpoch: cfg.by_epoch as boolean | undefined, warmup: readWarmup(cfg, origin) }),
});
LR_SCHEDULES.register('fixed', {
  defaults: keysFor('fixed'),
  build: (cfg, { baseLr }, origin) => fixedSchedule(baseLr, readWarmup(cfg, origin)),
});

/** Builds a schedule from an mmcv `lr_config` node (`policy: step | poly | CosineAnnealing | fixed`). */
export function buildLrSchedule(cfg: ConfigNode, baseLr: number, file?: string): LrSchedule {
  // mmcv accepts 'cosine' for CosineAnnealing and defaults to a fixed lr.
  const policy = cfg.policy === undefined ? 'fixed' : cfg.policy === 'cosine' ? 'CosineAnnealing' : cfg.policy;
  return LR_SCHEDULES.build({ ...cfg, policy }, { baseLr }, { file, path: 'lr_config' });
}
