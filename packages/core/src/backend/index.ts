export * from './backend';
export * from './native';
