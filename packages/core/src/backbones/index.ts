export * from './litv2_blocks';
export * from './litv2_base';
export * from './litv2';
export * from './litv2_backbone';
export * from './litv2_presets';
export * from './register';
export * from './pretrained';
