export * from './image_classifier';
export * from './transforms';
export * from './predict';
