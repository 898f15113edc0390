export * from './decode_head';
export * from './dropout2d';
export * from './fpn_head';
export * from './losses';
export * from './encoder_decoder';
