export * from './ade20k_meta';
export * from './hsv';
export * from './seg_dataset';
export * from './transforms';
