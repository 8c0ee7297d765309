// The CPU converter on a recorded V8 profile of fixtures/busy.js.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { Protocol } from 'devtools-protocol';
import { AddressBook } from '../../src/pprof/address-book.js';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { decodePprof, encodePprof } from '../../src/pprof/encode.js';
import { stacks } from '../../src/pprof/query.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { byFunction, sampleTypes } from '../helpers/profiles.js';
import { FIXTURES } from '../helpers/processes.js';

const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'recorded/busy.cpuprofile'), 'utf8')) as Protocol.Profiler.Profile;

describe('cpuProfileToPprof', () => {
  const p = decodePprof(encodePprof(cpuProfileToPprof(recorded, { intervalUs: 1000, startedAtMs: 1_700_000_000_000 })));

  test('is strictly valid and round-trips through profile.proto', () => {
    expect(validateProfile(p)).toEqual([]);
    expect(sampleTypes(p)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(p.stringTable.strings[Number(p.defaultSampleType)]).toBe('cpu');
    expect(Number(p.period)).toBe(1_000_000);
    expect(Number(p.timeNanos)).toBe(1_700_000_000_000 * 1e6);
    expect(Number(p.durationNanos)).toBe(Math.round((recorded.endTime - recorded.startTime) * 1000));
  });

  test('the hot function is on top, at its 1-based source line', () => {
    const { flat, total } = byFunction(p);
    expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.9);
    const lines = stacks(p)
      .filter((s) => s.frames[0]!.name === 'hotFunction')
      .map((s) => s.frames[0]!.line);
    expect(lines).toContain(8); // the loop body of fixtures/busy.js
    const files = new Set(stacks(p).flatMap((s) => s.frames.map((f) => f.file)));
    // recorded on another checkout: compare the path's tail
    expect([...files].some((f) => f.endsWith(`${path.sep}fixtures${path.sep}busy.js`) && path.isAbsolute(f))).toBe(true);
    expect([...files].some((f) => f.startsWith('file://'))).toBe(false);
  });

  test('(root) is dropped; samples add up to the recorded ones', () => {
    const all = stacks(p);
    expect(all.some((s) => s.frames.some((f) => f.name === '(root)'))).toBe(false);
    const count = all.reduce((a, s) => a + s.values[0]!, 0);
    expect(count).toBe(
      recorded.samples!.length - recorded.samples!.filter((id) => recorded.nodes.find((n) => n.id === id)!.callFrame.functionName === '(root)').length,
    );
    const cpu = all.reduce((a, s) => a + s.values[1]!, 0);
    const span = (recorded.endTime - recorded.startTime) * 1000;
    expect(cpu).toBeLessThanOrEqual(span * 1.01);
    expect(cpu).toBeGreaterThan(span * 0.8);
  });

  test('(idle) keeps its samples but no cpu time, and says so in a comment', () => {
    const idle: Protocol.Profiler.Profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3] },
        { id: 2, callFrame: { functionName: '(idle)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
        { id: 3, callFrame: { functionName: '', scriptId: '9', url: 'file:///srv/app.js', lineNumber: 9, columnNumber: 2 } },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: [2, 2, 2, 2, 2, 2, 2, 2, 3, 3],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const q = cpuProfileToPprof(idle, { intervalUs: 1000 });
    expect(validateProfile(q)).toEqual([]);
    const { flat } = byFunction(q, 'cpu');
    expect(flat.get('(idle)')).toBe(0);
    expect(flat.get('(anonymous app.js:10)')).toBe(2_000_000);
    expect(byFunction(q, 'samples').flat.get('(idle)')).toBe(8);
    expect(q.comment.map((c) => q.stringTable.strings[Number(c)]).join('\n')).toMatch(/8 of 10 samples .*\(idle\)/);
  });

  test('one address book gives the same frame the same address across profiles', () => {
    const book = new AddressBook();
    const a = cpuProfileToPprof(recorded, { intervalUs: 1000, addresses: book });
    const b = cpuProfileToPprof(recorded, { intervalUs: 1000, addresses: book });
    const addrs = (x: typeof a) => x.location.map((l) => BigInt(l.address)).sort();
    expect(addrs(a)).toEqual(addrs(b));
    const first = a.location[0]!;
    expect(book.lookup(BigInt(first.address))).toBeDefined();
  });
});
