/**
 * `@litv2/core`: the universal entry, importable in a browser bundle (tsconfig.browser.json typechecks it
 * without Node types, and test/browser_bundle.test.ts bundles it for platform 'browser'). Node-only parts
 * (backend selection, native add-on, file I/O, YAML files, engine runner and CLIs, fixtures) are in
 * `@litv2/core/node`, which re-exports all of this too.
 */
export * as tf from '@tensorflow/tfjs';
export * from './backend';
export * from './nn';
export * from './registry';
export * from './utils/suggest';
export * from './ops/deform_conv';
export * from './ops/deform_conv_pack';
export * from './attention';
export * from './backbones';
export * from './engine';
export * from './data';
export * from './necks';
export * from './losses';
export * from './ops/nms';
export * from './checkpoint';
export * from './config';
export * from './ops/roi_align';
export * from './analysis';
