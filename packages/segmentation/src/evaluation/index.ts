export * from './miou';
export * from './miou-dirs';
export * from './label-png';
export { npNanMean } from './numpy-nanmean';
