export { loadConfig, readYamlFile, type LoadConfigOptions, type LoadedConfig } from './load';
export { findConfigFile, defaultConfigsDir } from './find';
export { parseCfgOption, parseOptionValue, setOption, CLI_ORIGIN } from './overrides';
export { validateKeys, type KeySchema, type ValueSchema, type ValidateOrigin } from './validate';
export { dumpConfig, configToYaml } from './dump';
export { parseArgs, splitTask, toolFlags, exitCodeOf, UsageError, HelpRequested, wantsHelp, reportToolError, type ToolArgs, type ToolFlags, type ToolFlagSpec, type NumberFlagOptions } from './args';
export { getPath, isMapping, deepClone, mergeInto, OriginMap } from './tree';
