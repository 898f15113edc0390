import * as YAML from 'yaml';
import type { ConfigNode } from '../registry/registry';

/** The config as YAML text (what `dumpConfig` writes). */
export function configToYaml(cfg: ConfigNode, header?: string): string {
  const body = YAML.stringify(cfg, { lineWidth: 0, aliasDuplicateObjects: false });
  return header ? `${header.split('\n').map((l) => `# ${l}`).join('\n')}\n${body}` : body;
}
