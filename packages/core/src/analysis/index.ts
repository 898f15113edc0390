export * from './flops';
export * from './fixture_io';
export * from './fixtures';
export * from './fixture_litv2';
