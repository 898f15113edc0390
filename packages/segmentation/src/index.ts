export * from './ops/resize';
export * from './models';
export * from './fixtures/fixture_file';
