// The cost scan run on every CDP message before it is parsed (src/target/message-bound.ts).
import { describe, expect, test } from '@jest/globals';
import { generateCpuProfile } from '../../bench/lib/gen-profile.js';
import { DEFAULT_MAX_MESSAGE_BYTES, messageCost, setMaxMessageBytes, maxMessageBytes } from '../../src/target/message-bound.js';

const MiB = 2 ** 20;

describe('messageCost', () => {
  test('a real profile passes, as a string and as bytes', () => {
    const text = JSON.stringify({ id: 9, result: { profile: generateCpuProfile(2 * MiB, 3) } });
    expect(messageCost(text, DEFAULT_MAX_MESSAGE_BYTES)).toBeUndefined();
    expect(messageCost(Buffer.from(text), DEFAULT_MAX_MESSAGE_BYTES)).toBeUndefined();
    // Its estimate is about 3.4 times its size: a real profile as large as the bound passes.
    expect(messageCost(text, text.length)).toBeUndefined();
    expect(messageCost(text, text.length / 2)).toMatch(/which would take about/);
  });

  test('empty objects cost 27 times their size', () => {
    const soup = `[${'{},'.repeat(MiB)}{}]`;
    expect(messageCost(soup, 24 * MiB)).toBeUndefined();
    expect(messageCost(soup, 16 * MiB)).toMatch(/^sent a message of 3\.0 MiB holding 1048578 objects and 1048576 values, which would take about 83\.0 MiB/);
  });

  test('depth: over 1000 refused; brackets and escaped quotes inside strings do not count', () => {
    expect(messageCost(`${'['.repeat(1000)}${']'.repeat(1000)}`, MiB)).toBeUndefined();
    expect(messageCost(`${'['.repeat(1001)}${']'.repeat(1001)}`, MiB)).toBe('sent a message nested deeper than 1000 levels');
    const quoted = JSON.stringify({ s: `\\"${'[{'.repeat(5000)}\\\\` });
    expect(messageCost(quoted, MiB)).toBeUndefined();
    expect(messageCost(Buffer.from(quoted), MiB)).toBeUndefined();
    // An unterminated string ends the scan without error (JSON.parse reports it).
    expect(messageCost('["abc', MiB)).toBeUndefined();
  });

  test('NODEPROF_MAX_MESSAGE', () => {
    setMaxMessageBytes(undefined);
    expect(maxMessageBytes()).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    setMaxMessageBytes('64MiB');
    expect(maxMessageBytes()).toBe(64 * MiB);
    expect(() => setMaxMessageBytes('1g')).toThrow(/above 512\.0 MiB/);
    expect(() => setMaxMessageBytes('lots')).toThrow(/invalid NODEPROF_MAX_MESSAGE 'lots'/);
    setMaxMessageBytes(String(DEFAULT_MAX_MESSAGE_BYTES));
  });
});
