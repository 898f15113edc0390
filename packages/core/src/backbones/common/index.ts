export * from './bn_fusion';
