import * as tf from '@tensorflow/tfjs';
import { LayerNorm } from '../../nn/layers';
import type { Backbone, BackboneFlops } from '../../registry/registries';
import { litv2BackboneFlops } from './flops';
import { ConfigError, type ConfigOrigin } from '../../registry/registry';
import { LITv2Base, LITV2_ARCH_DEFAULTS, type LITv2ArchConfig, type LITv2BuildOptions } from './base';
import type { Tap } from './blocks';
import type { LoadResult } from '../../nn/module';
import { loadPretrained } from '../pretrained';
import { checkpointFileAccess } from '../../checkpoint/file_access';

export interface PretrainedInitCfg {
  type: 'Pretrained';
  checkpoint: string;
  /** Key prefix to keep and strip (mmdet `prefix`), e.g. 'backbone.' when loading a whole detector. */
  prefix?: string;
}

export interface LITv2BackboneConfig extends LITv2ArchConfig {
  /** 'det': output norms norm1..norm3 only (stage-0 output un-normed); 'seg': norm0..norm3. */
  variant: 'det' | 'seg';
  out_indices: number[];
  /** -1: nothing; >= 0: patch embed; >= 2: also stages 0..frozen_stages-2 (Swin convention). */
  frozen_stages: number;
  pretrain_img_size: number;
  /** Accepted for config compatibility; LITv2 does not use it. */
  window_size: number;
  init_cfg: PretrainedInitCfg | null;
}

/** Defaults of the official mmdet/mmseg constructor. */
export const LITV2_BACKBONE_DEFAULTS: LITv2BackboneConfig = {
  ...LITV2_ARCH_DEFAULTS,
  alpha: 0.5,
  drop_path_rate: 0.2,
  variant: 'det',
  out_indices: [0, 1, 2, 3],
  frozen_stages: -1,
  pretrain_img_size: 224,
  window_size: 7,
  init_cfg: null,
};

/**
 * LITv2 dense-prediction backbone (official mmdet/mmseg copies): pads the image right/bottom to multiples of
 * the patch size, HiLo pads to multiples of its window, DTM floors odd sizes. Returns the block outputs of
 * the stages in `out_indices` (before each stage's DTM) as NHWC maps, LayerNorm-ed by `norm{i}`.
 */
export class LITv2Backbone extends LITv2Base implements Backbone {
  readonly cfg: LITv2BackboneConfig;
  readonly outChannels: number[];
  readonly outStrides: number[];
  private readonly outNorms = new Map<number, LayerNorm>();

  constructor(cfg: Partial<LITv2BackboneConfig> = {}, opts: LITv2BuildOptions = {}) {
    const c: LITv2BackboneConfig = { ...LITV2_BACKBONE_DEFAULTS, ...cfg };
    super(c, true, opts);
    this.cfg = c;
    if (c.variant !== 'det' && c.variant !== 'seg') throw new Error(`LITv2Backbone: variant must be 'det' or 'seg', got '${String(c.variant)}'`);
    const n = c.depths.length;
    for (const i of c.out_indices) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`LITv2Backbone: out_indices entry ${i} is not a stage index in [0, ${n - 1}]`);
    }
    if (c.frozen_stages > n + 1) throw new Error(`LITv2Backbone: frozen_stages ${c.frozen_stages} exceeds the ${n} stages`);
    for (const i of c.out_indices) {
      if (i === 0 && c.variant === 'det') continue;
      this.outNorms.set(i, this.addModule(`norm${i}`, new LayerNorm(this.numFeatures[i])));
    }
    this.outChannels = c.out_indices.map((i) => this.numFeatures[i]);
    this.outStrides = c.out_indices.map((i) => c.patch_size * 2 ** i);
    this.freezeStages();
  }

  /** Stops gradients and keeps eval mode (BatchNorm running stats) for the frozen parts. */
  private freezeStages(): void {
    const f = this.cfg.frozen_stages;
    if (f >= 0) this.patch_embed.setTrainable(false).eval();
    for (let i = 0; i < f - 1 && i < this.layers.length; i++) this.layers.at(i).setTrainable(false).eval();
  }

  override train(mode = true): this {
    super.train(mode);
    this.freezeStages();
    return this;
  }

  /** The official FLOPs count of this backbone on an [h, w] image (see litv2BackboneFlops). */
  flops(inputHW: [number, number]): BackboneFlops {
    return litv2BackboneFlops(this.cfg, inputHW);
  }

  /** x: NHWC images [B, H, W, 3] (any H, W) -> one NHWC map per out_indices entry. */
  forward(x: tf.Tensor4D, tap?: Tap): tf.Tensor4D[] {
    const outs: tf.Tensor4D[] = [];
    const want = new Set(this.cfg.out_indices);
    const last = this.runStages(x, tap, (i, out) => {
      if (!want.has(i)) return;
      const norm = this.outNorms.get(i);
      outs[this.cfg.out_indices.indexOf(i)] = norm ? norm.forward(out) : out.clone();
    });
    last.dispose();
    return outs;
  }

  /**
   * mmdet's `init_weights()`: loads `init_cfg.checkpoint` with strict=false when `init_cfg` is Pretrained
   * (a classification `.pth`, a whole detector/segmentor checkpoint via `backbone.`, or ours) and returns
   * the missing/unexpected key report; does nothing without `init_cfg`.
   */
  /** Where the builder's config came from, so a missing `init_cfg` file names the config file and key. */
  configOrigin?: ConfigOrigin;
  /**
   * The dotted config key that set `init_cfg`, when a parent set it (mmseg's `model.pretrained` becomes the
   * backbone's init_cfg): a missing file's hint must name the key the user can actually turn off.
   */
  initCfgKey?: string;

  async initWeights(): Promise<(LoadResult & { prefix?: string }) | undefined> {
    const ic = this.cfg.init_cfg;
    if (!ic) return undefined;
    if (!checkpointFileAccess().exists(ic.checkpoint)) {
      const at = this.configOrigin;
      throw new ConfigError(
        `pretrained checkpoint '${ic.checkpoint}' not found (relative paths are resolved from ${workingDirectory()}). ` +
          `Download the ImageNet-1K LITv2 weights (litv2_s.pth / litv2_m.pth / litv2_b.pth) linked from the official ` +
          `repository's README (github.com/ziplab/LITv2, "Image Classification") into that path, ` +
          `or train from scratch with --cfg-options ${this.initCfgKey ?? (at ? `${at.path}.init_cfg` : 'model.backbone.init_cfg')}=null`,
        this.initCfgKey ? { file: at?.file, path: this.initCfgKey } : at ? { ...at, path: `${at.path}.init_cfg.checkpoint` } : undefined,
      );
    }
    return loadPretrained(this, ic.checkpoint, { prefix: ic.prefix });
  }

  override async loadInitCheckpoints(log: (line: string) => void = () => {}, prefix = ''): Promise<void> {
    const r = await this.initWeights();
    if (!r) return;
    const where = prefix || 'backbone';
    log(`${where}: loaded ${this.cfg.init_cfg!.checkpoint}${r.prefix ? ` (keys under '${r.prefix}')` : ''}: ` +
      `${r.missingKeys.length} missing [${r.missingKeys.slice(0, 6).join(', ')}${r.missingKeys.length > 6 ? ', …' : ''}], ` +
      `${r.unexpectedKeys.length} unexpected [${r.unexpectedKeys.slice(0, 6).join(', ')}${r.unexpectedKeys.length > 6 ? ', …' : ''}]`);
  }
}

/** The working directory where there is one (Node), for the missing-checkpoint message. */
function workingDirectory(): string {
  const proc = (globalThis as { process?: { cwd(): string } }).process;
  return proc ? proc.cwd() : 'the page';
}
