import { writeTextFileAtomic } from '../checkpoint/atomic';
import type { ConfigNode } from '../registry/registry';
import { configToYaml } from './dump';

/** Writes the fully merged config as YAML (atomically), e.g. into a run's work dir. */
export function dumpConfig(cfg: ConfigNode, file: string, opts: { header?: string } = {}): void {
  writeTextFileAtomic(file, configToYaml(cfg, opts.header));
}
