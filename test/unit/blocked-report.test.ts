// What the user is told about a blocked event loop, from the probe and repair reports.
import { describe, expect, test } from '@jest/globals';
import { dropSamplesBefore } from '../../src/collect/cpu.js';
import type { LoopAtStart, RepairReport } from '../../src/collect/blocked.js';
import { loopComments, loopStartLines, loopStopLines } from '../../src/output/recording-notes.js';

const probe = (state: 'turning' | 'blocked'): LoopAtStart['probe'] => ({
  state,
  sentAtMs: 1_000_000,
  timeoutMs: 300,
  answeredInMs: state === 'turning' ? 4 : undefined,
  turned: Promise.resolve(undefined),
});

const repaired: RepairReport = {
  outcome: 'repaired',
  repaired: true,
  stack: [
    { functionName: 'crunch', file: '/app/x.js', line: 21, column: 5 },
    { functionName: 'handleRequest', file: '/app/x.js', line: 40, column: 3 },
  ],
  pausedMs: 7,
  enableMs: 120,
  landMs: 40,
  disableMs: 40,
  scripts: 141,
  totalMs: 230,
  disabled: true,
};

describe('blocked-loop report', () => {
  test('healthy: one comment, nothing on stderr', () => {
    const loop: LoopAtStart = { probe: probe('turning'), repairOff: false };
    expect(loopStartLines(loop)).toEqual([]);
    expect(loopStopLines(loop)).toEqual([]);
    expect(loopComments(loop)).toEqual(['nodeprof: event loop turning at attach (a setImmediate ran within 4 ms); the target was not paused']);
  });

  test('repaired: the running stack, the pause, and how long the loop was blocked', () => {
    const loop: LoopAtStart = { probe: probe('blocked'), repairOff: false, repair: repaired, turnedAtMs: 1_003_200, stoppedAtMs: 1_005_000 };
    expect(loopStartLines(loop)).toEqual([
      'running at attach: crunch (/app/x.js:21) <- handleRequest (/app/x.js:40)',
      expect.stringMatching(/^paused the target for 7 ms \(debugger on 230 ms in all, 120 ms of it announcing 141 scripts\)/),
    ]);
    expect(loopStopLines(loop)).toEqual([expect.stringMatching(/^event loop blocked for at least 3\.2 s: it turned again 3\.2 s after attach/)]);
    const c = loopComments(loop);
    expect(c[0]).toMatch(/^nodeprof: event loop blocked at attach, blocked for at least 3\.2 s/);
    expect(c[1]).toBe('nodeprof: running at attach: crunch (/app/x.js:21) <- handleRequest (/app/x.js:40)');
    expect(c[2]).toMatch(/^nodeprof: paused the target for 7 ms/);
  });

  test('still blocked at the end; repair that could not finish', () => {
    const repair: RepairReport = { ...repaired, outcome: 'step-did-not-finish', repaired: false, reason: 'the step did not finish within 1000 ms' };
    const loop: LoopAtStart = { probe: probe('blocked'), repairOff: false, repair, stoppedAtMs: 1_010_000 };
    expect(loopStopLines(loop)[0]).toMatch(/at least 10\.0 s: still blocked when the profile stopped/);
    expect(loopComments(loop).join('\n')).toMatch(
      /could not repair: the step did not finish within 1000 ms \(the running frame is inside a long native call\).*paused 7 ms/,
    );
  });

  test('--no-repair: says the callers are blamed', () => {
    const loop: LoopAtStart = { probe: probe('blocked'), repairOff: true };
    expect(loopStartLines(loop)[0]).toMatch(/--no-repair: time in functions already running is blamed on their callers/);
    expect(loopComments(loop)[1]).toMatch(/repair off \(--no-repair\): the target was not paused/);
  });

  test('dropSamplesBefore cuts the samples before the repair and keeps the rest exact', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, hitCount: 0, children: [2, 3] },
        { id: 2, callFrame: { functionName: 'caller', scriptId: '1', url: '', lineNumber: 0, columnNumber: 0 }, hitCount: 3 },
        { id: 3, callFrame: { functionName: 'crunch', scriptId: '1', url: '', lineNumber: 5, columnNumber: 0 }, hitCount: 2 },
      ],
      startTime: 1000,
      endTime: 6000,
      samples: [2, 2, 2, 3, 3],
      timeDeltas: [1000, 1000, 1000, 1000, 1000],
    };
    expect(dropSamplesBefore(profile, 4500)).toEqual({ samples: 3, ms: 4 });
    expect(profile.samples).toEqual([3, 3]);
    expect(profile.timeDeltas).toEqual([500, 1000]);
    expect(profile.startTime).toBe(4500);
    expect(profile.nodes[1]!.hitCount).toBe(0);
    expect(profile.nodes[2]!.hitCount).toBe(2);
    expect(dropSamplesBefore(profile, 100)).toEqual({ samples: 0, ms: 0 });
  });
});
