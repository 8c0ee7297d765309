// The heap converter on a recorded sampling profile of fixtures/retain.js (64 MiB retained).
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { Protocol } from 'devtools-protocol';
import { heapProfileToPprof, objectsForSample } from '../../src/pprof/heap-profile.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { byFunction, sampleTypes } from '../helpers/profiles.js';
import { FIXTURES } from '../helpers/processes.js';

const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'recorded/retain.heapprofile'), 'utf8')) as Protocol.HeapProfiler.SamplingHeapProfile;

describe('heapProfileToPprof', () => {
  test('in-use bytes of the retaining function match what it retains', () => {
    const p = heapProfileToPprof(recorded, { mode: 'inuse', intervalBytes: 524288 });
    expect(validateProfile(p)).toEqual([]);
    expect(sampleTypes(p)).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
    const bytes = byFunction(p, 'inuse_space').flat.get('retainMemory')!;
    // 65,536 arrays of 126 elements: 1,056 bytes each on 64-bit V8 (69.2 MB); sampling error ~10%.
    expect(bytes).toBeGreaterThan(69.2e6 * 0.8);
    expect(bytes).toBeLessThan(69.2e6 * 1.25);
    const objects = byFunction(p, 'inuse_objects').flat.get('retainMemory')!;
    expect(objects).toBeGreaterThan(65536 * 0.8);
    expect(objects).toBeLessThan(65536 * 1.25);
  });

  test('alloc mode names the alloc types', () => {
    const p = heapProfileToPprof(recorded, { mode: 'alloc', intervalBytes: 524288 });
    expect(sampleTypes(p)).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
    expect(p.stringTable.strings[Number(p.defaultSampleType)]).toBe('alloc_space');
  });

  test('objectsForSample estimates V8 scaled counts: within 2x per sample', () => {
    const R = 524288;
    for (const size of [16, 24, 32, 64, 200, 1056, 4096, 100_000, R / 4, R, 4 * R]) {
      const count = Math.floor(1 / (1 - Math.exp(-size / R)) + 0.5);
      const est = objectsForSample(size * count, R);
      expect(est).toBeGreaterThan(count / 2);
      expect(est).toBeLessThan(count * 2);
    }
  });
});
