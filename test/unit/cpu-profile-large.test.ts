// The CPU converter on a generated profile of realistic shape (thousands of nodes, deep shared
// stacks, positionTicks), checked against a plain per-sample walk of the V8 tree: the converter
// works per tree node for speed, and must give the same stacks and totals as the obvious method.
import { describe, expect, test } from '@jest/globals';
import type { Protocol } from 'devtools-protocol';
import { generateCpuProfile } from '../../bench/lib/gen-profile.js';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { decodePprof, encodePprof } from '../../src/pprof/encode.js';
import { frameFromCallFrame } from '../../src/pprof/frame.js';
import { stacks } from '../../src/pprof/query.js';
import { validateProfile } from '../../src/pprof/validate.js';

/** Samples per stack (function-start frames, leaf first, (root) dropped), one sample at a time. */
function naiveStacks(profile: Protocol.Profiler.Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map<string, number>();
  for (const id of profile.samples!) {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const cf = byId.get(at)!.callFrame;
      if (cf.functionName === '(root)') break;
      const f = frameFromCallFrame(cf);
      frames.push(`${f.name}@${f.file}:${f.line}`);
    }
    if (frames.length === 0) continue;
    const key = frames.join(';');
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

describe('cpuProfileToPprof on a generated profile of ~300 KB', () => {
  const withTicks = generateCpuProfile(300 * 1024, 7);
  const withoutTicks: Protocol.Profiler.Profile = { ...withTicks, nodes: withTicks.nodes.map(({ positionTicks: _, ...n }) => n) };

  test('without positionTicks: exactly the stacks and counts of a per-sample walk', () => {
    const p = decodePprof(encodePprof(cpuProfileToPprof(withoutTicks, { intervalUs: 1000 })));
    expect(validateProfile(p)).toEqual([]);
    const got = new Map<string, number>();
    for (const s of stacks(p)) {
      const key = s.frames.map((f) => `${f.name}@${f.file}:${f.line}`).join(';');
      got.set(key, (got.get(key) ?? 0) + s.values[0]!);
    }
    const want = naiveStacks(withoutTicks);
    expect(got.size).toBe(want.size);
    expect(got).toEqual(want);
    expect(want.size).toBeGreaterThan(300); // the profile is not trivial (441 distinct stacks)
  });

  test('with positionTicks: same totals, callers unchanged, leaves split by line', () => {
    const p = decodePprof(encodePprof(cpuProfileToPprof(withTicks, { intervalUs: 1000 })));
    expect(validateProfile(p)).toEqual([]);
    const all = stacks(p);
    const total = all.reduce((a, s) => a + s.values[0]!, 0);
    const rootSamples = withTicks.samples!.filter((id) => id === 1).length;
    expect(total).toBe(withTicks.samples!.length - rootSamples);
    // Dropping the leaf's line (keeping its function) gives back the per-sample walk's callers.
    const callers = new Map<string, number>();
    for (const s of all) {
      const key =
        s.frames
          .slice(1)
          .map((f) => `${f.name}@${f.file}:${f.line}`)
          .join(';') + `<${s.frames[0]!.name}@${s.frames[0]!.file}`;
      callers.set(key, (callers.get(key) ?? 0) + s.values[0]!);
    }
    const want = new Map<string, number>();
    for (const [k, v] of naiveStacks(withTicks)) {
      const [leaf, ...rest] = k.split(';');
      const key = rest.join(';') + `<${leaf!.slice(0, leaf!.lastIndexOf(':'))}`;
      want.set(key, (want.get(key) ?? 0) + v);
    }
    expect(callers).toEqual(want);
  });
});
