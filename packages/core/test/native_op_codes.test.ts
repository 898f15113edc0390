/** The op codes of the C++ kernels (kernels.h, exported by addon.cc) and of the TS side are one table, checked at load. */
import { createRequire } from 'node:module';
import { findNativeAddon, loadNativeAddon } from '@litv2/core/node';
import { NATIVE_OP_CODES, opCodeMismatch } from '../src/backend/native/op_codes';
import { describeNative } from './native_helpers';

test('opCodeMismatch names the first group.op whose code differs, is missing on a side, or the missing table', () => {
  const copy = JSON.parse(JSON.stringify(NATIVE_OP_CODES)) as Record<string, Record<string, number>>;
  expect(opCodeMismatch(copy)).toBeUndefined();
  copy.unary.exp = 2;
  expect(opCodeMismatch(copy)).toBe('unary.exp: add-on 2, TypeScript 1');
  copy.unary.exp = 1;
  copy.binary.atan2 = 8;
  expect(opCodeMismatch(copy)).toBe('binary.atan2: add-on 8, TypeScript missing');
  delete copy.binary.atan2;
  delete copy.reduce.prod;
  expect(opCodeMismatch(copy)).toBe('reduce.prod: add-on missing, TypeScript 4');
  expect(opCodeMismatch(undefined)).toBe('the add-on exports no op-code table');
});

describeNative('the built add-on', () => {
  test('exports the same op-code table as backend/native/op_codes.ts, and loads', () => {
    const addon = createRequire(__filename)(findNativeAddon()!) as { opCodes: unknown };
    expect(addon.opCodes).toEqual(NATIVE_OP_CODES);
    expect(opCodeMismatch(addon.opCodes)).toBeUndefined();
    expect('addon' in loadNativeAddon()).toBe(true);
  });
});
