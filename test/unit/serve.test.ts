// The facade's pure parts: listen spellings, the Host and token checks, deltas and empty profiles.
import { describe, expect, test } from '@jest/globals';
import { AddressBook } from '../../src/pprof/address-book.js';
import { ProfileBuilder } from '../../src/pprof/builder.js';
import type { Frame } from '../../src/pprof/frame.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { parseListen } from '../../src/serve/listen.js';
import { deltaAnswer, emptyAnswer } from '../../src/serve/profiles.js';
import { hostAllowed, tokenMatches } from '../../src/serve/security.js';
import { byFunction, sampleTypes } from '../helpers/profiles.js';

const frame = (name: string, line: number): Frame => ({ name, file: '/app/x.js', line, column: 1, startLine: line });

describe('serve helpers', () => {
  test('listen spellings', () => {
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:6060')).toEqual({ host: '::1', port: 6060 });
    expect(parseListen('0.0.0.0:6060')).toEqual({ host: '0.0.0.0', port: 6060 });
    expect(parseListen('6060')).toEqual({ host: '127.0.0.1', port: 6060 });
    expect(() => parseListen('abc')).toThrow(/invalid listen address/);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/invalid listen address/);
  });

  test('Host check: loopback names and IP literals pass, other names only when ours', () => {
    expect(hostAllowed('localhost:6060', {})).toBe(true);
    expect(hostAllowed('127.0.0.1:6060', {})).toBe(true);
    expect(hostAllowed('[::1]:6060', {})).toBe(true);
    expect(hostAllowed('10.1.2.3:6060', {})).toBe(true);
    expect(hostAllowed(undefined, {})).toBe(true);
    expect(hostAllowed('evil.example.com:6060', {})).toBe(false);
    expect(hostAllowed('evil.example.com', {})).toBe(false);
    expect(hostAllowed('app.internal:6060', { hosts: ['app.internal'] })).toBe(true);
    expect(hostAllowed('anything:1', { hosts: '*' })).toBe(true);
    expect(hostAllowed('myhost:6060', { listenHost: 'myhost' })).toBe(true);
  });

  test('token comparison', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('s3cre', 's3cret')).toBe(false);
    expect(tokenMatches('', 's3cret')).toBe(false);
    expect(tokenMatches(undefined, 's3cret')).toBe(false);
  });

  test('a delta subtracts per stack through the shared address book and drops unchanged stacks', () => {
    const book = new AddressBook();
    const types = [['alloc_objects', 'count'], ['alloc_space', 'bytes']] as const;
    const b0 = new ProfileBuilder({ sampleTypes: types, addresses: book, timeNanos: 1e9 });
    b0.addSample([frame('a', 1), frame('main', 10)], [5, 500]);
    b0.addSample([frame('same', 3)], [1, 100]);
    const b1 = new ProfileBuilder({ sampleTypes: types, addresses: book, timeNanos: 3e9, defaultSampleType: 'alloc_space' });
    b1.addSample([frame('b', 2), frame('main', 10)], [2, 200]);
    b1.addSample([frame('same', 3)], [1, 100]);
    b1.addSample([frame('a', 1), frame('main', 10)], [8, 800]);
    const d = deltaAnswer(b0.build(), b1.build(), book);
    expect(validateProfile(d)).toEqual([]);
    expect(Number(d.durationNanos)).toBe(2e9);
    const { flat } = byFunction(d, 'alloc_space');
    expect(Object.fromEntries(flat)).toEqual({ a: 300, b: 200 });
  });

  test('block, mutex and threadcreate are valid, empty, with Go\'s sample types', () => {
    const book = new AddressBook();
    for (const kind of ['block', 'mutex', 'threadcreate'] as const) {
      const p = emptyAnswer(kind, book);
      expect(validateProfile(p)).toEqual([]);
      expect(p.sample).toHaveLength(0);
      expect(sampleTypes(p)).toEqual(kind === 'threadcreate' ? ['threadcreate/count'] : ['contentions/count', 'delay/nanoseconds']);
    }
  });
});
