export * from './fpn';
