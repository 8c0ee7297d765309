import { describe, expect, test } from '@jest/globals';
import { UsageError } from '../../src/errors.js';
import { parseTarget } from '../../src/target/target-spec.js';

describe('parseTarget', () => {
  test('spellings', () => {
    expect(parseTarget('9229')).toMatchObject({ kind: 'address', host: '127.0.0.1', port: 9229 });
    expect(parseTarget('localhost:9230')).toMatchObject({ kind: 'address', host: 'localhost', port: 9230 });
    expect(parseTarget('[::1]:9229')).toMatchObject({ kind: 'address', host: '::1', port: 9229 });
    expect(parseTarget('ws://127.0.0.1:9229/abc-def')).toMatchObject({ kind: 'websocket', host: '127.0.0.1', port: 9229 });
    expect(parseTarget('pid:1234')).toMatchObject({ kind: 'pid', pid: 1234 });
  });
  test.each(['', 'abc', '99999', '0', 'host:', ':9229', 'pid:', 'pid:x', 'http://x:1', '1.2.3.4', '[::1]', 'a b:1'])('%j is a usage error', (t) => {
    expect(() => parseTarget(t)).toThrow(UsageError);
  });
});
