import * as fs from 'node:fs';
import type { StateDict } from '../nn/module';
import { isSafetensorsFile, readSafetensors } from './checkpoint';
import { readPth } from './pth_file';
import { safetensorsWeights, tensorsToStateDict, unwrapTorch, type StateDictOptions } from './state_dict';
import type { TorchTensor } from './torch-tensor';
import { setCheckpointFileAccess } from './file_access';

export type LoadStateDictFileOptions = StateDictOptions;

/**
 * Loads model weights from a PyTorch `.pth` (unwrapping `state_dict`/`model`, stripping `module.`), from our
 * checkpoint format, or from a plain safetensors file. Returns float32 tf tensors (int64 entries such as
 * `num_batches_tracked` become float32) in PyTorch layout, ready for `Module.loadStateDict`; caller disposes.
 */
export async function loadStateDictFile(file: string, opts: LoadStateDictFileOptions = {}): Promise<StateDict> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  const tensors: Map<string, TorchTensor> = isSafetensorsFile(file)
    ? safetensorsWeights(readSafetensors(file))
    : unwrapTorch(readPth(file, { lazy: true }), file); // only the tensors kept below are read
  return tensorsToStateDict(tensors, file, opts);
}

// Pretrained `init_cfg` loading in universal code (backbones) reads files through this.
setCheckpointFileAccess({ exists: (file) => fs.existsSync(file), readStateDict: loadStateDictFile });
