export * from './litv2';
export * from './pretrained';
export * from './common';
export * from './levit';
export * from './efficientvit';
