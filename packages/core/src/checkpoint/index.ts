// Universal checkpoint readers: over bytes in memory (browser-safe). File reading and writing: ../node.ts.
export { parsePth, readPthBytes, checkPthHeader, type ReadPthOptions } from './pth';
export { PickleGlobal, unpickle, isDangerousGlobal, isPlaceholder, type UnpickleOptions, type PickleReducer } from './pickle';
export { TorchTensor, torchToFloat32, type TorchDtype, type TorchData } from './torch-tensor';
export { ZipArchive, type ZipEntry } from './zip';
export { bytesSource, type ByteSource } from './byte_source';
export {
  parseSafetensors,
  checkpointFromSafetensors,
  checkpointFromBytes,
  torchTensorToTf,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type OptimizerState,
  type SafetensorsFile,
} from './safetensors';
export { stateDictFromBytes, tensorsToStateDict, looksLikeSafetensors, type StateDictOptions } from './state_dict';
export { setCheckpointFileAccess, checkpointFileAccess, type CheckpointFileAccess } from './file_access';
