/**
 * A typo at any depth of any shipped config is an error naming the file, the dotted key and the key it meant.
 * For every config under configs/<task>/ and every key of its merged tree (mappings and list entries, any
 * depth), the key is misspelt and the config is checked the way a run checks it: the engine's sections
 * (validateRunConfig, lr_config), the datasets, then the model (whose parsers reject keys before any large
 * tensor is made, so no backbone is ever built here). A dotted key already tried in an earlier config of the same
 * task (the S/M/B and ws2/ws4 variants share their trees) is not tried again; small configs go first, so the
 * large models are only checked on keys that are theirs alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLrSchedule, buildPipeline, CLS_DATASETS, CONFIG_VARIABLES, ConfigError, CLASSIFIERS, CLS_BACKBONES, deepClone, validateRunConfig, type ConfigNode, type TaskDefinition } from '@litv2/core';
import { loadConfig } from '@litv2/core/node';
import { detectionTask } from '@litv2/detection';
import { segmentationTask } from '@litv2/segmentation';
import { classificationTask } from '@litv2/classification';

const root = path.resolve(__dirname, '../..');
const configsDir = path.join(root, 'configs');
const TASKS: Record<string, TaskDefinition> = { detection: detectionTask as unknown as TaskDefinition, segmentation: segmentationTask as unknown as TaskDefinition, classification: classificationTask as unknown as TaskDefinition };

/** Top-level keys that are YAML anchor holders (not read by the engine): the run schema's free variables. */
const VARIABLES = new Set(CONFIG_VARIABLES);

/** Every key path of a config tree: [parent path parts, key] (list entries descend with their index). */
function keyPaths(node: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(node)) node.forEach((v, i) => out.push(...keyPaths(v, [...prefix, i])));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (prefix.length === 0 && (VARIABLES.has(k) || k.startsWith('_'))) continue;
      // paramwise_cfg.custom_keys are parameter-name patterns, not config keys (their values are checked).
      if (prefix[prefix.length - 1] === 'custom_keys') {
        out.push(...keyPaths(v, [...prefix, k]));
        continue;
      }
      // `type` names the thing; a wrong type value is tested by the registries' own tests.
      if (k !== 'type') out.push([...prefix, k]);
      out.push(...keyPaths(v, [...prefix, k]));
    }
  }
  return out;
}

/** The misspelling: the last letter dropped (or an 'x' added to short keys). */
const misspell = (k: string) => (k.length > 3 ? k.slice(0, -1) : `${k}x`);

function renamed(cfg: ConfigNode, p: (string | number)[]): ConfigNode {
  const copy = deepClone(cfg) as ConfigNode;
  let parent: Record<string | number, unknown> = copy;
  for (const part of p.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
  const key = String(p[p.length - 1]);
  // Keep the key order so the error is the one for this key, not a later one.
  const entries = Object.entries(parent).map(([k, v]) => [k === key ? misspell(key) : k, v]);
  for (const k of Object.keys(parent)) delete parent[k];
  Object.assign(parent, Object.fromEntries(entries));
  return copy;
}

/** Checks a config as train/test do before building anything large; throws the first error. */
async function check(cfg: ConfigNode, file: string, task: TaskDefinition): Promise<void> {
  validateRunConfig(cfg, { file });
  if (cfg.lr_config) buildLrSchedule(cfg.lr_config as ConfigNode, 0.01, file);
  const ctx = { configFile: file, repoRoot: fs.mkdtempSync('/tmp/typo-'), skipBadSamples: false, log: () => {} };
  for (const split of ['train', 'val', 'test'] as const) {
    const node = (cfg.data as ConfigNode | undefined)?.[split] as ConfigNode | undefined;
    if (!node) continue;
    if (task === classificationTask) {
      // Building an ImageFolder generates or scans images; its keys and pipeline are what a typo can hit.
      CLS_DATASETS.resolve(node, { file, path: `data.${split}` });
      if (node.pipeline) buildPipeline(node.pipeline, { file, path: `data.${split}.pipeline` });
      continue;
    }
    try {
      await task.buildDataset(cfg, split, ctx);
    } catch (e) {
      // The data itself is absent here; only config errors count (they come before any file is read).
      if (!(e instanceof ConfigError) || /not found|does not exist|download/.test((e as Error).message)) continue;
      throw e;
    }
  }
  if (task === classificationTask) {
    // Resolving checks every key of the classifier and its network without building ImageNet-size weights.
    const model = cfg.model as ConfigNode;
    CLASSIFIERS.resolve(model, { file, path: 'model' });
    CLS_BACKBONES.resolve(model.backbone as ConfigNode, { file, path: 'model.backbone' });
    return;
  }
  const model = await task.buildModel(cfg, ctx);
  model.dispose();
}

const configs = Object.keys(TASKS).flatMap((task) =>
  fs
    .readdirSync(path.join(configsDir, task))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ task, name: f.replace(/\.yaml$/, '') }))
    .sort((a, b) => Number(!a.name.includes('tiny')) - Number(!b.name.includes('tiny')) || a.name.localeCompare(b.name)),
);
/** `task:dotted.key` already misspelt in an earlier config. */
const tried = new Set<string>();

describe.each(configs)('$task/$name', ({ task, name }) => {
  test('a misspelt key at any depth is rejected with the file, the dotted key and a suggestion', async () => {
    const loaded = loadConfig(name, { configsDir });
    const all = keyPaths(loaded.cfg);
    expect(all.length).toBeGreaterThan(5);
    const paths = all.filter((p) => !tried.has(`${task}:${p.join('.')}`));
    for (const p of paths) tried.add(`${task}:${p.join('.')}`);
    const missed: string[] = [];
    for (const p of paths) {
      const bad = [...p.slice(0, -1), misspell(String(p[p.length - 1]))].join('.');
      try {
        await check(renamed(loaded.cfg, p), loaded.file, TASKS[task]);
        missed.push(`${bad}: accepted`);
      } catch (e) {
        const msg = (e as Error).message;
        const ok = e instanceof ConfigError && msg.includes(loaded.file) && msg.includes(`${bad}:`) && msg.includes(`did you mean '${p[p.length - 1]}'`);
        if (!ok) missed.push(`${bad}: ${msg}`);
      }
    }
    expect(missed).toEqual([]);
  });
});
