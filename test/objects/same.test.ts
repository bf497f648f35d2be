import { describe, expect, test } from '@jest/globals';
import { sameValue } from '../../lib/objects/same.ts';

describe('sameValue', () => {
  test('equal JSON values, keys in any order, absent and undefined alike', () => {
    expect(sameValue({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(sameValue({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(sameValue(new Date(5), new Date(5))).toBe(true);
    expect(sameValue(null, null)).toBe(true);
  });

  test('any difference, however deep', () => {
    expect(sameValue({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 0 })).toBe(false);
    expect(sameValue({ a: 1, b: 0 }, { a: 1, c: 0 })).toBe(false);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
    expect(sameValue({ a: [{ b: { c: true } }] }, { a: [{ b: { c: false } }] })).toBe(false);
    expect(sameValue(null, {})).toBe(false);
    expect(sameValue('1', 1)).toBe(false);
    expect(sameValue(new Date(5), '1970-01-01T00:00:00.005Z')).toBe(false);
  });
});
