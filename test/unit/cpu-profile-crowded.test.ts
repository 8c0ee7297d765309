// Many functions at one script position (V8 gives `new Function` and eval code positions of their
// own source; a hostile target names them anything): the call-frame table used to chain them and
// compare each new node against the whole chain, so the conversion was quadratic (100k nodes: 292 s,
// 1.1M: over 14 minutes). Now linear: the work is counted (name comparisons), not timed.
import { describe, expect, test } from '@jest/globals';
import { CallFrames, cpuProfileToBuilder } from '../../src/pprof/cpu-profile.js';
import { crowdedProfile } from '../helpers/fake-inspector.js';
import { byFunction } from '../helpers/profiles.js';
import { decodePprof, gzipPprof } from '../../src/pprof/encode.js';

describe('call frames sharing one position', () => {
  test('100k names at one position: a bounded number of comparisons per frame', () => {
    const frames = new CallFrames(() => 0);
    const n = 100_000;
    const slots = new Set<number>();
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < n; i++) slots.add(frames.slot({ functionName: `f${i}`, scriptId: '7', url: 'file:///x.js', lineNumber: 3, columnNumber: 5 }));
    }
    expect(slots.size).toBe(n); // the second pass finds each frame again
    // Before: n²/2 for the first pass alone (5·10⁹). Now at most 8 per frame until the chain moves into a Map, then 1.
    expect(frames.comparisons).toBeLessThan(4 * n);
  });

  test('equal names at one position share a slot; other positions and scripts do not', () => {
    const frames = new CallFrames(() => 0);
    const at = (functionName: string, lineNumber = 3, scriptId = '7') =>
      frames.slot({ functionName, scriptId, url: 'file:///x.js', lineNumber, columnNumber: 5 });
    const first = Array.from({ length: 20 }, (_, i) => at(`g${i}`));
    expect(Array.from({ length: 20 }, (_, i) => at(`g${i}`))).toEqual(first);
    expect(new Set(first).size).toBe(20);
    expect(at('g0', 4)).not.toBe(first[0]);
    expect(at('g0', 3, '8')).not.toBe(first[0]);
    expect(at('g0')).toBe(first[0]);
  });

  test('a 100k-node profile of one position converts, every function kept, within a generous bound', () => {
    const n = 100_000;
    const started = performance.now();
    // Written as attach writes it (the builder's own writer; pprof-format's encoder is for small answers).
    const p = decodePprof(gzipPprof(cpuProfileToBuilder(crowdedProfile(n), { intervalUs: 1000 }).encode()));
    const ms = performance.now() - started;
    const { flat, total } = byFunction(p, 'samples');
    expect(total).toBe(n - 1);
    expect(flat.size).toBe(n - 1);
    expect(flat.get('f2')).toBe(1);
    // About 1.5 s here (2 shared cores); 30 s before the fix on the same machine (292 s reported on another).
    expect(ms).toBeLessThan(20_000);
  });
});
