export * from './litv2';
export * from './pretrained';
