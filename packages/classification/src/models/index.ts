export * from './image_classifier';
