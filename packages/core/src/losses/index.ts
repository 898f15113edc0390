// Losses shared by the task packages (detection heads, decode heads, classifiers), registered in LOSSES.
export * from './utils';
export * from './cross_entropy_loss';
