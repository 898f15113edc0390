export * from './rle';
export * from './rle-string';
export * from './polygon';
export * from './iou';
export * from './mask';
