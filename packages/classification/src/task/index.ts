export * from './classification_task';
