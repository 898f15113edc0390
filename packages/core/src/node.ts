/**
 * `@litv2/core/node`: everything of the universal entry plus the Node-only parts: tensor backend selection
 * (tfjs-node, the native OpenBLAS add-on), checkpoint and config files, image decoding (sharp), file-loading
 * transforms, the synthetic dataset writer, the engine (Runner, hooks, train/eval CLIs) and fixture parity.
 * Loading this module also lets universal code read checkpoint files (see checkpoint/file_access.ts) and
 * registers the file-loading transforms.
 */
export * from './index';

export * from './backend/backend';
export * from './backend/native';

export { readPth } from './checkpoint/pth_file';
export { fileByteSource } from './checkpoint/file_byte_source';
export { writeFileAtomic, writeTextFileAtomic } from './checkpoint/atomic';
export { saveCheckpoint, loadCheckpoint, readSafetensors, isSafetensorsFile } from './checkpoint/checkpoint';
export { loadStateDictFile, type LoadStateDictFileOptions } from './checkpoint/state-dict-file';

export { loadConfig, readYamlFile, type LoadConfigOptions, type LoadedConfig } from './config/load';
export { findConfigFile, defaultConfigsDir } from './config/find';
export { dumpConfig } from './config/dump_file';
export { parseArgs, splitTask, toolFlags, exitCodeOf, UsageError, HelpRequested, wantsHelp, reportToolError, type ToolArgs, type ToolFlags, type ToolFlagSpec, type NumberFlagOptions } from './config/cli_flags';

export * from './data/image';
export * from './data/loading';
export * from './data/synthetic';
export * from './data/synthetic_cli';

export * from './engine/file_deps';
export * from './engine/runner';
export * from './engine/logger_hooks';
export * from './engine/checkpoint_hook';
export * from './engine/eval_hook';
export * from './engine/train';
export * from './engine/cli';
export * from './engine/work_dir';

export * from './parity/fixture_io';
export * from './parity/check';
export * from './backbones/litv2/fixture_parity';
export * from './backbones/levit/fixture_parity';
export * from './backbones/efficientvit/fixture_parity';

export * from './backbones/litv2/convert';
export * from './analysis/log_files';
export * from './analysis/render_chart';
export * from './analysis/curve_hook';
export * from './analysis/browse';
export * from './backend/webgpu';

export * from './distributed/gloo';
export * from './distributed/launch';
export * from './distributed/data_parallel';
export * from './distributed/config_hash';
