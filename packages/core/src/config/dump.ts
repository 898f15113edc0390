import * as YAML from 'yaml';
import { writeTextFileAtomic } from '../checkpoint/atomic';
import type { ConfigNode } from '../registry/registry';

/** The config as YAML text (what `dumpConfig` writes). */
export function configToYaml(cfg: ConfigNode, header?: string): string {
  const body = YAML.stringify(cfg, { lineWidth: 0, aliasDuplicateObjects: false });
  return header ? `${header.split('\n').map((l) => `# ${l}`).join('\n')}\n${body}` : body;
}

/** Writes the fully merged config as YAML (atomically), e.g. into a run's work dir. */
export function dumpConfig(cfg: ConfigNode, file: string, opts: { header?: string } = {}): void {
  writeTextFileAtomic(file, configToYaml(cfg, opts.header));
}
