export * from './eval_input';
export * from './transforms';
export * from './rand_augment';
export * from './mixup';
export * from './image_folder';
export * from './synthetic';
