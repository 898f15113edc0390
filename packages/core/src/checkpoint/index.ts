export { readPth, type ReadPthOptions } from './pth';
export { PickleGlobal, unpickle, isDangerousGlobal, isPlaceholder, type UnpickleOptions, type PickleReducer } from './pickle';
export { TorchTensor, torchToFloat32, type TorchDtype, type TorchData } from './torch-tensor';
export { ZipArchive, type ZipEntry } from './zip';
export { writeFileAtomic, writeTextFileAtomic } from './atomic';
export {
  saveCheckpoint,
  loadCheckpoint,
  readSafetensors,
  isSafetensorsFile,
  torchTensorToTf,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type OptimizerState,
  type SafetensorsFile,
} from './checkpoint';
export { loadStateDictFile, type LoadStateDictFileOptions } from './state-dict-file';
