export * from './conv_module';
export * from './fpn';
