export * from './miou';
export * from './miou-dirs';
export * from './label-png';
// numpy-exact nan-mean (pairwise summation) lives with the other numpy semantics in @litv2/cocoapi.
export { npNanMean } from '@litv2/cocoapi';
