// `attach --top`'s table, pinned: its text for a recorded CPU profile and a recorded heap profile
// (each sample type), so a change to how it sums (src/pprof/frame-sums.ts) shows here as a diff.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { Protocol } from 'devtools-protocol';
import { Function as PFunction, Location, Line, Profile, Sample, ValueType, StringTable } from 'pprof-format';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { heapProfileToPprof } from '../../src/pprof/heap-profile.js';
import { topTable } from '../../src/output/top.js';
import { FIXTURES } from '../helpers/processes.js';

const read = <T>(name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, 'recorded', name), 'utf8')) as T;

describe('attach --top table', () => {
  test('a recorded CPU profile', () => {
    const p = cpuProfileToPprof(read<Protocol.Profiler.Profile>('busy.cpuprofile'), { intervalUs: 1000 });
    expect(topTable(p, { rows: 8 })).toBe(CPU_TABLE);
  });

  test('a recorded heap profile, each sample type', () => {
    const p = heapProfileToPprof(read<Protocol.HeapProfiler.SamplingHeapProfile>('retain.heapprofile'), { mode: 'inuse', intervalBytes: 512 * 1024 });
    expect(topTable(p, { rows: 6 })).toBe(HEAP_TABLE);
    expect(topTable(p, { rows: 6, sampleType: 'inuse_objects' })).toBe(HEAP_OBJECTS_TABLE);
  });

  test('a recursive function counts once per sample in cum; a location without a function is named by its address', () => {
    const st = new StringTable();
    const fn = new PFunction({ id: 1, name: st.dedup('recurse'), filename: st.dedup('/app/r.js') });
    const locs = [new Location({ id: 1, line: [new Line({ functionId: 1, line: 3 })] }), new Location({ id: 2, address: 0x1f })];
    const p = new Profile({
      sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') })],
      function: [fn],
      location: locs,
      // recurse <- recurse <- recurse (3 samples); 0x1f <- recurse (1 sample)
      sample: [new Sample({ locationId: [1, 1, 1], value: [3] }), new Sample({ locationId: [2, 1], value: [1] })],
      stringTable: st,
    });
    const lines = topTable(p).split('\n');
    expect(lines[0]).toBe('Showing top 2 by flat samples of 4 total');
    expect(lines[2]).toMatch(/^\s+3\s+75\.0%\s+4\s+100\.0%\s+recurse \/app\/r\.js$/);
    expect(lines[3]).toMatch(/^\s+1\s+25\.0%\s+1\s+25\.0%\s+0x1f$/);
  });
});

const CPU_TABLE = `Showing top 3 by flat cpu of 1.01s total
      flat  flat%        cum   cum%  function
     932ms  92.6%      932ms  92.6%  hotFunction /work/main/fixtures/busy.js
    74.3ms   7.4%      1.01s 100.0%  processImmediate node:internal/timers
     0.0ms   0.0%      0.0ms   0.0%  (program)
`;
const HEAP_TABLE = `Showing top 6 by flat inuse_space of 71.66MB total
      flat  flat%        cum   cum%  function
   71.66MB 100.0%    71.66MB 100.0%  retainMemory /work/main/fixtures/retain.js
        0B   0.0%    71.66MB 100.0%  (anonymous retain.js:18) /work/main/fixtures/retain.js
        0B   0.0%    71.66MB 100.0%  emit node:events
        0B   0.0%    71.66MB 100.0%  addChunk node:internal/streams/readable
        0B   0.0%    71.66MB 100.0%  readableAddChunkPushByteMode node:internal/streams/readable
        0B   0.0%    71.66MB 100.0%  Readable.push node:internal/streams/readable
`;
const HEAP_OBJECTS_TABLE = `Showing top 6 by flat inuse_objects of 63956 total
      flat  flat%        cum   cum%  function
     63956 100.0%      63956 100.0%  retainMemory /work/main/fixtures/retain.js
         0   0.0%      63956 100.0%  (anonymous retain.js:18) /work/main/fixtures/retain.js
         0   0.0%      63956 100.0%  emit node:events
         0   0.0%      63956 100.0%  addChunk node:internal/streams/readable
         0   0.0%      63956 100.0%  readableAddChunkPushByteMode node:internal/streams/readable
         0   0.0%      63956 100.0%  Readable.push node:internal/streams/readable
`;
