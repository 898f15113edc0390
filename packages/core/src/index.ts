export * as tf from '@tensorflow/tfjs';
export * from './backend';
export * from './nn';
