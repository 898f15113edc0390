import type { StateDict } from '../nn/module';
import type { StateDictOptions } from './state_dict';

/**
 * How universal code (a backbone's `init_cfg: {type: Pretrained, checkpoint: FILE}`) reaches checkpoint files
 * without importing `fs`: the node entry (`@litv2/core/node`) installs the file-system implementation when it
 * loads; a browser app either installs one over fetch() or loads weights with `stateDictFromBytes`.
 */
export interface CheckpointFileAccess {
  exists(file: string): boolean;
  readStateDict(file: string, opts: StateDictOptions): Promise<StateDict>;
}

let access: CheckpointFileAccess | undefined;

export function setCheckpointFileAccess(a: CheckpointFileAccess): void {
  access = a;
}

export function checkpointFileAccess(): CheckpointFileAccess {
  if (!access) throw new Error('reading checkpoint files needs @litv2/core/node (in a browser, load weights with stateDictFromBytes)');
  return access;
}
