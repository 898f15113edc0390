/** Root jest config: every package's tests, transformed by SWC (type-checking is `npm run typecheck`). */
const swc = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
};
// vega / vega-lite (charts in core/analysis) and the d3 modules under them ship only as ES modules: SWC turns them
// into CommonJS for jest like our own sources.
const swcJs = { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } };
const esmOnly = ['vega[^/]*', 'd3-[^/]*', 'internmap', 'delaunator', 'robust-predicates', 'json-stringify-pretty-compact'];
// Dawn's GL ES path (the webgpu tests on Mesa llvmpipe) reads EGL_PLATFORM from the real process environment,
// which code inside a jest worker cannot change (jest hands tests a copy): set it for the workers here.
if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/tools', '<rootDir>/apps'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc], '^.+\\.m?js$': ['@swc/jest', swcJs] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    // vega-canvas's node build probes for node-canvas with a top-level await (not CommonJS); without that
    // package both builds return no canvas, which is what the SVG renderer expects.
    '^vega-canvas$': '<rootDir>/node_modules/vega-canvas/build/vega-canvas.browser.js',
    '^@litv2/(core|cocoapi|classification|detection|segmentation)$': '<rootDir>/packages/$1/src/index.ts',
    // core has two entries only: the universal one and the Node one (no deep imports).
    '^@litv2/core/node$': '<rootDir>/packages/core/src/node.ts',
    '^@litv2/(cocoapi|classification|detection|segmentation)/(.*)$': '<rootDir>/packages/$1/src/$2',
  },
  reporters: ['default', '<rootDir>/tools/jest-summary-reporter.cjs'],
  testTimeout: 300000,
  maxWorkers: 2,
};
