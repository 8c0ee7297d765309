import { describe, expect, test } from '@jest/globals';
import { UsageError } from '../../src/errors.js';
import { formatBytes, parseSize } from '../../src/size.js';

describe('parseSize', () => {
  test.each([
    ['512KiB', 524288],
    ['512k', 524288],
    ['64KB', 65536],
    ['1MiB', 1048576],
    ['1.5m', 1572864],
    ['32768', 32768],
    ['100b', 100],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each(['', '0', '-1k', 'abc', '5x', '1 2', '4GiB'])('%j is a usage error', (text) => {
    expect(() => parseSize(text, '--heap-interval')).toThrow(UsageError);
  });

  test('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(67.1 * 1024 * 1024)).toBe('67.1 MiB');
  });
});
