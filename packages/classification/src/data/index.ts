export * from './eval_input';
export * from './transforms';
export * from './mixup';
export * from './image_folder';
export * from './synthetic';
