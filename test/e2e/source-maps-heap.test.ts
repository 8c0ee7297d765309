// The source-map API as heap jobs and serve use it: a real session, a real sampling heap profile
// of a TypeScript target, sourceMapsForHeapProfile, and the heap converter.
import { afterEach, describe, expect, test } from '@jest/globals';
import { SourceMapCache, sourceMapsForHeapProfile } from '../../src/collect/source-map-loader.js';
import { heapProfileToPprof } from '../../src/pprof/heap-profile.js';
import { stacks } from '../../src/pprof/query.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { openTarget } from '../../src/target/connect.js';
import { parseTarget } from '../../src/target/target-spec.js';
import { killAll, startTarget } from '../helpers/processes.js';
import { hotSpot, sm } from '../helpers/source-maps.js';

afterEach(killAll);

describe.each([
  ['tsc CommonJS, map files (read from disk)', 'sourcemaps/tsc-cjs/main.js', [], 0],
  ['a tsx-like loader (map URL from Debugger.scriptParsed)', 'sourcemaps/src/tsc-esm-inline/main.ts', ['--import', sm('loader/register.js')], 1],
] as const)('sourceMapsForHeapProfile on %s', (_what, fixture, nodeArgs, viaDebugger) => {
  test('heap frames of the hot function name its .ts file and start line; a cache loads once', async () => {
    const t = await startTarget(fixture, { nodeArgs: [...nodeArgs] });
    const target = await openTarget(parseTarget(String(t.port)));
    try {
      const s = target.session;
      // Allocations over a short window, collected ones included: hotFunction's setImmediate calls.
      await s.send('HeapProfiler.enable');
      await s.send('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      await new Promise((r) => setTimeout(r, 1000));
      const { profile } = await s.send('HeapProfiler.stopSampling');
      await s.send('HeapProfiler.disable');

      const cache = new SourceMapCache();
      const maps = await sourceMapsForHeapProfile(s, profile, { cache });
      expect(maps.warnings).toEqual([]);
      expect(maps.stats).toMatchObject({ mapped: 1, viaDebugger });
      const p = heapProfileToPprof(profile, { mode: 'alloc', intervalBytes: 256, mapFrame: maps.mapFrame });
      expect(validateProfile(p)).toEqual([]);
      const ts = hotSpot(sm(fixture.includes('cjs') ? 'src/tsc-cjs/hot.ts' : 'src/tsc-esm-inline/hot.ts'));
      const hotFrames = stacks(p).flatMap((st) => st.frames.filter((f) => f.name === 'hotFunction'));
      expect(hotFrames.length).toBeGreaterThan(0);
      expect(new Set(hotFrames.map((f) => `${f.file}:${f.line}`))).toEqual(new Set([`${ts.file}:${ts.startLine}`]));

      // the next profile of the same target: nothing read again, no Debugger round trip
      const again = await sourceMapsForHeapProfile(s, profile, { cache });
      expect(again.stats).toMatchObject({ mapped: 1, viaDebugger: 0 });
    } finally {
      await target.release();
    }
  });
});
