export * from './image_classifier';
export * from './registry';
export * from './transforms';
export * from './predict';
