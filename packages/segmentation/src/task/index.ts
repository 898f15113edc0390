export * from './segmentation_task';
