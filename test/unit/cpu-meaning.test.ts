// What a CPU profile's numbers mean (issue 26): the profiler's start-up in no frame, cpu/nanoseconds
// scaled to measured CPU time, code without a file told apart by script, collapsed weights in samples.
import { describe, expect, test } from '@jest/globals';
import type { Protocol } from 'devtools-protocol';
import { busyNanos, cpuScaleFor, statCpuNanos } from '../../src/collect/thread-cpu.js';
import { toCollapsed } from '../../src/output/collapsed.js';
import { AddressBook } from '../../src/pprof/address-book.js';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { decodePprof, encodePprof } from '../../src/pprof/encode.js';
import { stacks } from '../../src/pprof/query.js';
import { OWN_CODE, OWN_SCRIPT_URL, ownScript } from '../../src/pprof/frame.js';
import { targetName } from '../../src/target/connect.js';

const frame = (functionName: string, scriptId: string, url = '', lineNumber = 0, columnNumber = 19): Protocol.Runtime.CallFrame => ({
  functionName,
  scriptId,
  url,
  lineNumber,
  columnNumber,
});

/** (root) → two `new Function` bodies (no URL, no name, same position, scripts 110 and 111) and (idle). */
function profile(firstDeltaUs: number): Protocol.Profiler.Profile {
  const samples = [2, 2, 3, 3, 3, 4, 4, 4, 4, 4];
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)', '0', '', -1, -1), children: [2, 3, 4] },
      { id: 2, callFrame: frame('', '110') },
      { id: 3, callFrame: frame('', '111') },
      { id: 4, callFrame: frame('(idle)', '0', '', -1, -1) },
    ],
    startTime: 0,
    endTime: firstDeltaUs + 9000,
    samples,
    timeDeltas: samples.map((_, i) => (i === 0 ? firstDeltaUs : 1000)),
  };
}

const convert = (p: Protocol.Profiler.Profile, extra: object = {}) =>
  decodePprof(encodePprof(cpuProfileToPprof(p, { intervalUs: 1000, startedAtMs: 1_700_000_000_000, ...extra })));
const comments = (p: ReturnType<typeof convert>) => p.comment.map((i) => p.stringTable.strings[Number(i)]!);

describe('the start gap', () => {
  test("the first sample's wait from Profiler.start is in no frame, and a comment says how long it was", () => {
    const p = convert(profile(1_500_000));
    const cpu = stacks(p).reduce((a, s) => a + s.values[1]!, 0);
    // 5 busy samples of 1 ms: the 1.5 s before the first one is nobody's.
    expect(cpu).toBe(5_000_000);
    expect(Math.max(...stacks(p).map((s) => s.values[1]! / s.values[0]!))).toBeLessThanOrEqual(1_000_000);
    expect(comments(p).join('\n')).toMatch(/first sample came 1499ms after Profiler\.start .*in no frame/);
  });

  test('a first sample within an interval keeps its time, with no comment', () => {
    const p = convert(profile(700));
    expect(stacks(p).reduce((a, s) => a + s.values[1]!, 0)).toBe(4_700_000);
    expect(comments(p).join('\n')).not.toMatch(/first sample/);
  });
});

describe('cpu/nanoseconds scaled to measured CPU time', () => {
  test('busy samples are scaled to the CPU the thread used; samples/count and (idle) stay raw', () => {
    const prof = profile(1_500_000);
    expect(busyNanos(prof, 1000)).toBe(5_000_000);
    const scale = cpuScaleFor(prof, 1000, 2_000_000, '/proc/1/task/1/stat')!;
    expect(scale.factor).toBeCloseTo(0.4);
    const p = convert(prof, { cpuScale: scale });
    const all = stacks(p);
    expect(all.reduce((a, s) => a + s.values[1]!, 0)).toBe(2_000_000);
    expect(all.reduce((a, s) => a + s.values[0]!, 0)).toBe(10);
  });

  test('never scaled up: a thread measured with more CPU than its busy samples keeps their time', () => {
    expect(cpuScaleFor(profile(700), 1000, 9e9, 'process.cpuUsage()')!.factor).toBe(1);
    expect(cpuScaleFor(profile(700), 1000, NaN, 'x')).toBeUndefined();
  });

  test('/proc stat lines: utime + stime after the last parenthesis, in 1/100 s', () => {
    expect(statCpuNanos('42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 1 0 1000 0 0')).toBe(1.75e9);
    expect(statCpuNanos('garbage')).toBeUndefined();
  });
});

describe('code without a file', () => {
  test('two `new Function` bodies at the same position are two rows, named by script id, with stable addresses', () => {
    const book = new AddressBook();
    const one = convert(profile(700), { addresses: book });
    const names = new Set(stacks(one).map((s) => s.frames[0]!.name));
    expect(names).toEqual(new Set(['(anonymous eval#110:1)', '(anonymous eval#111:1)', '(idle)']));
    const two = convert(profile(700), { addresses: book });
    const addr = (p: typeof one) =>
      new Map(p.location.map((l) => [p.stringTable.strings[Number(p.function.find((f) => f.id === l.line[0]!.functionId)!.name)], l.address]));
    expect(addr(two)).toEqual(addr(one));
  });

  test("nodeprof's own evaluations (CPU clock, loop probe) are one `(nodeprof)` row, whatever their script ids", () => {
    const p = profile(700);
    p.nodes[1]!.callFrame = frame('', '120', OWN_SCRIPT_URL);
    p.nodes[2]!.callFrame = frame('', '121', OWN_SCRIPT_URL);
    const leaves = stacks(convert(p)).map((s) => s.frames[0]!.name);
    expect(new Set(leaves)).toEqual(new Set([OWN_CODE, '(idle)']));
    // The expressions evaluated in targets carry that URL.
    expect(ownScript('1 + 1')).toMatch(/\n\/\/# sourceURL=node:nodeprof$/);
  });

  test("V8's own frames (script 0) keep their names", () => {
    const p = convert(profile(700));
    expect(stacks(p).some((s) => s.frames[0]!.name === '(idle)')).toBe(true);
  });
});

describe('collapsed', () => {
  test('a CPU profile folds to sample counts (what flamegraph.pl and speedscope read), not nanoseconds', () => {
    const text = toCollapsed(convert(profile(700)));
    expect(text.split('\n').filter(Boolean).sort()).toEqual(['(anonymous eval#110:1) 2', '(anonymous eval#111:1) 3', '(idle) 5']);
    expect(toCollapsed(convert(profile(700)), 'cpu')).toMatch(/\(anonymous eval#111:1\) 3000000/);
  });
});

describe('targetName', () => {
  test('says the pid once', () => {
    expect(targetName('pid 11135 (127.0.0.1:9229)', 11135)).toBe('pid 11135 (127.0.0.1:9229)');
    expect(targetName('127.0.0.1:9229', 11135)).toBe('pid 11135 (127.0.0.1:9229)');
    expect(targetName('127.0.0.1:9229', 11135, true)).toBe('127.0.0.1:9229 (pid 11135)');
  });
});
