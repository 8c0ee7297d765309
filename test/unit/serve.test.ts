// The facade's pure parts: listen spellings, the Host and token checks, deltas and empty profiles.
import { describe, expect, test } from '@jest/globals';
import { AddressBook } from '../../src/pprof/address-book.js';
import { ProfileBuilder } from '../../src/pprof/builder.js';
import type { Frame } from '../../src/pprof/frame.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { HeapSampler } from '../../src/collect/heap-sampling.js';
import { parseListen } from '../../src/serve/listen.js';
import type { CdpSession } from '../../src/target/session.js';
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
    const types = [
      ['alloc_objects', 'count'],
      ['alloc_space', 'bytes'],
    ] as const;
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

  test("block, mutex and threadcreate are valid, empty, with Go's sample types", () => {
    const book = new AddressBook();
    for (const kind of ['block', 'mutex', 'threadcreate'] as const) {
      const p = emptyAnswer(kind, book);
      expect(validateProfile(p)).toEqual([]);
      expect(p.sample).toHaveLength(0);
      expect(sampleTypes(p)).toEqual(kind === 'threadcreate' ? ['threadcreate/count'] : ['contentions/count', 'delay/nanoseconds']);
    }
  });
});

describe('the heap sampler reads one at a time', () => {
  /** A session whose commands wait until the test answers them, as a target stuck in a native call does. */
  function stuckSession() {
    const sent: Array<{ method: string; answer: () => void }> = [];
    const session = {
      send: (method: string) =>
        new Promise((resolve) =>
          sent.push({
            method,
            answer: () => resolve(method === 'HeapProfiler.getSamplingProfile' ? { profile: { head: {}, samples: [], n: sent.length } } : {}),
          }),
        ),
    } as unknown as CdpSession;
    return { session, sent };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  test('requests while a read is unanswered share it; one asking for a GC reads after it; at most two reads wait on the target', async () => {
    const { session, sent } = stuckSession();
    const heap = new HeapSampler('inuse', 512 * 1024);
    const first = heap.read(session, false);
    const joined = [heap.read(session, false), heap.read(session, false)];
    const withGc = heap.read(session, true);
    const afterGc = [heap.read(session, false), heap.read(session, true)];
    await tick();
    expect(sent.map((s) => s.method)).toEqual(['HeapProfiler.getSamplingProfile']);
    sent[0]!.answer();
    const a = await first;
    for (const p of joined) expect(await p).toBe(a);
    await tick();
    // Then a second read (its own full GC: every read is one), shared by everything after the GC request.
    expect(sent.map((s) => s.method)).toEqual(['HeapProfiler.getSamplingProfile', 'HeapProfiler.getSamplingProfile']);
    sent[1]!.answer();
    const b = await withGc;
    expect(b).not.toBe(a);
    for (const p of afterGc) expect(await p).toBe(b);
    // Once answered, the next request reads afresh.
    const next = heap.read(session, false);
    await tick();
    expect(sent).toHaveLength(3);
    sent[2]!.answer();
    expect(await next).not.toBe(b);
  });

  test('a read without samples answers for as long as the sampler had run when it was read, at most the interval', async () => {
    let reads = 0;
    const session = {
      send: (method: string) => {
        if (method === 'HeapProfiler.getSamplingProfile') reads++;
        return Promise.resolve(method === 'HeapProfiler.getSamplingProfile' ? { profile: { head: {}, samples: [] } } : {});
      },
    } as unknown as CdpSession;
    const heap = new HeapSampler('inuse', 512 * 1024, 60_000);
    const now = Date.now();
    // Started 10 s ago: an empty read now is kept 10 s.
    heap.startedAtMs = now - 10_000;
    await heap.read(session, false);
    await heap.read(session, false);
    expect(reads).toBe(1);
    // Started as the read came (here a little after, so the clock's millisecond cannot keep it): read again at once.
    heap.startedAtMs = Date.now() + 50;
    await heap.read(session, true);
    await heap.read(session, false);
    expect(reads).toBe(3);
  });
});
