/** Root jest config: every package's tests, transformed by SWC (type-checking is `npm run typecheck`). */
const swc = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
};
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/tools'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^@litv2/(core|cocoapi|classification|detection|segmentation)$': '<rootDir>/packages/$1/src/index.ts',
    // core has two entries only: the universal one and the Node one (no deep imports).
    '^@litv2/core/node$': '<rootDir>/packages/core/src/node.ts',
    '^@litv2/(cocoapi|classification|detection|segmentation)/(.*)$': '<rootDir>/packages/$1/src/$2',
  },
  reporters: ['default', '<rootDir>/tools/jest-summary-reporter.cjs'],
  testTimeout: 300000,
  maxWorkers: 2,
};
