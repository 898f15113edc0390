export * as tf from '@tensorflow/tfjs';
export * from './backend';
export * from './nn';
export * from './registry';
export * from './utils/suggest';
export * from './checkpoint';
export * from './config';
