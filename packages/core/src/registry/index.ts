export * from './registry';
export * from './registries';
