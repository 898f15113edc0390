// Universal: the config tree from an already parsed object. Loading YAML files and the CLI flag parser: ../node.ts.
export { parseCfgOption, parseOptionValue, setOption, CLI_ORIGIN } from './overrides';
export { validateKeys, type KeySchema, type ValueSchema, type ValidateOrigin } from './validate';
export { configToYaml } from './dump';
export { validateRunConfig, CONFIG_VARIABLES } from './run_schema';
export { getPath, isMapping, deepClone, mergeInto, OriginMap } from './tree';
