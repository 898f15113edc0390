/**
 * What the engine reads outside `model`: every top-level section of a train/test config, with typed and
 * range-checked values. `model` and the dataset nodes under `data` are checked by their registries when they
 * are built; everything else is checked here, before a run writes anything, so `runner.max_epoch=1`,
 * `optimzer.lr`, `data.tset` or `runner.max_epochs=five` stop the run with the file, the dotted key and a
 * suggestion instead of being ignored.
 */
import { ConfigError, type ConfigNode } from '../registry/registry';
import { didYouMean } from '../utils/suggest';
import { isMapping } from './tree';
import { validateKeys, type KeySchema, type ValidateOrigin } from './validate';

const GRAD_CLIP: KeySchema = { max_norm: 'positive', norm_type: 'positive' };
/** mmcv paramwise_cfg (+ one_dim_decay_mult: timm's no decay on 1-D parameters). */
const PARAMWISE: KeySchema = { custom_keys: 'mapping', bias_lr_mult: 'nonneg', bias_decay_mult: 'nonneg', one_dim_decay_mult: 'nonneg' };

/** Optimizer keys by type (mmcv names); `lr` must be > 0 and decays >= 0. */
export const OPTIMIZER_SCHEMAS: Record<string, KeySchema> = {
  AdamW: { type: 'string', lr: 'positive', betas: 'number[]', eps: 'positive', weight_decay: 'nonneg', amsgrad: 'boolean', paramwise_cfg: PARAMWISE },
  SGD: { type: 'string', lr: 'positive', momentum: 'nonneg', dampening: 'nonneg', weight_decay: 'nonneg', nesterov: 'boolean', paramwise_cfg: PARAMWISE },
};

const SECTIONS: KeySchema = {
  runner: { type: 'string', max_epochs: 'count', max_iters: 'count' },
  optimizer_config: { type: 'string', grad_clip: 'mapping|null' },
  checkpoint_config: { interval: 'count|integer', by_epoch: 'boolean', max_keep_ckpts: 'integer', save_optimizer: 'boolean', out_dir: 'string|null', save_last: 'boolean' },
  evaluation: { interval: 'count', by_epoch: 'boolean', metric: 'string|string[]', save_best: 'string|null', classwise: 'boolean', pre_eval: 'boolean' },
  log_config: { interval: 'count', hooks: 'list' },
  data: {
    samples_per_gpu: 'count',
    workers_per_gpu: 'index',
    train: 'mapping',
    val: 'mapping',
    test: 'mapping',
    persistent_workers: 'boolean',
    group_by_aspect: 'boolean',
    drop_last: 'boolean',
  },
  synthetic: {
    out: 'string',
    seed: 'integer',
    num_train: 'count',
    num_val: 'count',
    size: 'count',
    num_classes: 'count',
    min_objects: 'index',
    max_objects: 'count',
    min_scale: 'positive',
    max_scale: 'positive',
  },
  auto_scale_lr: { enable: 'boolean', base_batch_size: 'count' },
  dist_params: 'mapping',
  seed: 'integer|null',
  deterministic: 'boolean',
  work_dir: 'string|null',
  load_from: 'string|null',
  resume_from: 'string|null',
  custom_hooks: 'list',
  // mmdet/mmseg runtime keys that are accepted and have no effect here (single process unless launched).
  log_level: 'string',
  workflow: 'list',
  gpu_ids: 'list|null',
  find_unused_parameters: 'boolean',
  cudnn_benchmark: 'boolean',
  opencv_num_threads: 'integer',
  mp_start_method: 'string',
};

/**
 * Top-level keys that only hold values for YAML anchors or `_base_` merging (mmdet's config variables);
 * they are not read by the engine. Any other free variable must start with `_`.
 */
export const CONFIG_VARIABLES: readonly string[] = ['dataset_type', 'data_root', 'classes', 'img_norm_cfg', 'train_pipeline', 'test_pipeline', 'crop_size', 'test_transform', 'img_scale', 'norm_cfg'];

/** Keys a task's own code reads at the top level (validated by the task). */
const TASK_SECTIONS = ['model'];

/** The origin of a top-level dotted key: the file (or `--cfg-options`) that set it. */
const originAt = (origin: Omit<ValidateOrigin, 'path'>) => (key: string) => ({ file: origin.originOf ? origin.originOf(key) : origin.file, path: key });

/**
 * Validates every top-level section the engine reads (not `model`, not the dataset nodes: their registries
 * check them at build). Throws a `ConfigError` naming the file that set the key, its dotted path and, for
 * unknown keys, the closest known one.
 */
export function validateRunConfig(cfg: ConfigNode, origin: Omit<ValidateOrigin, 'path'>): void {
  const where = originAt(origin);
  const known = [...Object.keys(SECTIONS), 'optimizer', 'lr_config', ...TASK_SECTIONS, ...CONFIG_VARIABLES];
  for (const [k, v] of Object.entries(cfg)) {
    if (k.startsWith('_') || CONFIG_VARIABLES.includes(k) || TASK_SECTIONS.includes(k)) continue;
    if (k === 'optimizer') {
      validateOptimizer(v, origin);
      continue;
    }
    if (k === 'lr_config') {
      if (!isMapping(v)) throw new ConfigError(`expected a mapping, got ${JSON.stringify(v)}`, where(k));
      continue; // buildLrSchedule checks policy-specific keys
    }
    const schema = SECTIONS[k];
    if (schema === undefined) {
      throw new ConfigError(`unknown top-level key '${k}'${didYouMean(k, known)} (free variables must start with '_')`, where(k));
    }
    validateKeys({ [k]: v }, { [k]: schema }, { ...origin, path: '' });
  }
  const runner = cfg.runner as ConfigNode | undefined;
  if (isMapping(runner)) {
    const type = runner.type ?? 'EpochBasedRunner';
    if (type !== 'EpochBasedRunner' && type !== 'IterBasedRunner') {
      throw new ConfigError(`runner.type must be EpochBasedRunner or IterBasedRunner, got '${String(type)}'`, where('runner.type'));
    }
    const need = type === 'EpochBasedRunner' ? 'max_epochs' : 'max_iters';
    const other = type === 'EpochBasedRunner' ? 'max_iters' : 'max_epochs';
    if (runner[other] !== undefined) throw new ConfigError(`${type} counts ${need}, not ${other}`, where(`runner.${other}`));
  }
  const clip = (cfg.optimizer_config as ConfigNode | undefined)?.grad_clip;
  if (isMapping(clip)) validateKeys(clip, GRAD_CLIP, { ...origin, path: 'optimizer_config.grad_clip' }, { required: ['max_norm'] });
  const ck = cfg.checkpoint_config as ConfigNode | undefined;
  if (isMapping(ck) && typeof ck.interval === 'number' && ck.interval < 1 && ck.interval !== -1) {
    throw new ConfigError(`interval must be >= 1 (or -1: never), got ${ck.interval}`, where('checkpoint_config.interval'));
  }
}

function validateOptimizer(v: unknown, origin: Omit<ValidateOrigin, 'path'>): void {
  const where = originAt(origin);
  if (!isMapping(v)) throw new ConfigError(`expected a mapping, got ${JSON.stringify(v)}`, where('optimizer'));
  const type = (v as ConfigNode).type;
  const schema = typeof type === 'string' ? OPTIMIZER_SCHEMAS[type] : undefined;
  if (!schema) throw new ConfigError(`unknown optimizer type '${String(type)}'${didYouMean(String(type), Object.keys(OPTIMIZER_SCHEMAS))}; known: ${Object.keys(OPTIMIZER_SCHEMAS).join(', ')}`, where('optimizer.type'));
  validateKeys(v, schema, { ...origin, path: 'optimizer' });
  // custom_keys: parameter-name patterns (free) -> {lr_mult, decay_mult}.
  const custom = ((v as ConfigNode).paramwise_cfg as ConfigNode | undefined)?.custom_keys;
  if (isMapping(custom)) {
    for (const [pattern, mult] of Object.entries(custom)) validateKeys(mult, { lr_mult: 'nonneg', decay_mult: 'nonneg' }, { ...origin, path: `optimizer.paramwise_cfg.custom_keys.${pattern}` });
  }
}
