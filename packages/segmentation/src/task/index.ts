export * from './segmentation_task';
export * from './complexity';
export * from './predict';
