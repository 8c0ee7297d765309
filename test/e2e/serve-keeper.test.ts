// serve keeps one V8 CPU profiler running for its windows (src/serve/cpu-keeper.ts): on Node 22+ a
// hot loop compiled before serve attached is attributed in every window, with the JIT reset once;
// on Node 18 and 20 the windows are cut from it too (no profiler start-up per window, no reset); its
// console profile is not replaced after every window; nothing of it runs in the target once serve
// has gone.
import { afterEach, describe, expect, test } from '@jest/globals';
import CDP from 'chrome-remote-interface';
import type { Profile } from 'pprof-format';
import { assertNoProfilerRunning, cpuProfilerThreads, withInspector } from '../helpers/inspect.js';
import { nodeBinary } from '../helpers/node-versions.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, ranFor, startTarget } from '../helpers/processes.js';
import { request, startServe, type Serving } from '../helpers/serve.js';
import { str } from '../../src/pprof/query.js';

afterEach(killAll);

const RESET = /reset optimized code so V8 .* attributes hot loops/;
const KEPT = /cut from a CPU profiler kept running since/;

function comments(p: Profile): string[] {
  return p.comment.map((c) => str(p, c));
}

/** The function with the most self time, and its share. */
function top(p: Profile): [string, number] {
  const { flat, total } = byFunction(p);
  const [name, v] = [...flat].sort((a, b) => b[1] - a[1])[0]!;
  return [name, v / total];
}

async function window(s: Serving, query = ''): Promise<Profile> {
  const a = await request(`${s.url}profile?seconds=2${query}`);
  expect(a.status).toBe(200);
  return loadProfile(a.body);
}

describe('serve on Node 22: one CPU profiler kept running across windows', () => {
  test('a hot loop warmed before serve attached is on top in successive windows; the reset runs once', async () => {
    const t = await startTarget('busy.js', { node: nodeBinary('22') });
    // Its hot loop is optimized (on-stack replacement) long before serve attaches.
    await ranFor(t.pid, 1500);
    const s = await startServe(t.port, ['--quiet']);
    const first = await window(s);
    const second = await window(s);
    for (const p of [first, second]) {
      const [name, share] = top(p);
      expect({ name, big: share > 0.5 }).toEqual({ name: 'hotFunction', big: true });
      expect(comments(p)).toContainEqual(expect.stringMatching(KEPT));
    }
    expect(comments(first)).toContainEqual(expect.stringMatching(RESET));
    expect(comments(second)).not.toContainEqual(expect.stringMatching(RESET));
    // A window at another rate has a session of its own, and the reset.
    const other = await window(s, '&hz=200');
    expect(comments(other)).toContainEqual(expect.stringMatching(RESET));
    expect(comments(other)).not.toContainEqual(expect.stringMatching(KEPT));
    expect(top(other)[0]).toBe('hotFunction');
    s.run.proc.kill('SIGINT');
    expect((await s.run.done).code).toBe(0);
    await assertNoProfilerRunning(t.port);
  }, 120_000);

  test("the app's console.profileEnd() ends the kept profile: the next window starts another, right", async () => {
    const t = await startTarget('busy.js', { node: nodeBinary('22') });
    await ranFor(t.pid, 1500);
    const s = await startServe(t.port, ['--quiet']);
    expect(top(await window(s))[0]).toBe('hotFunction');
    // Without a title, profileEnd ends the profile started last, in every session: the keeper's.
    await withInspector(t.port, (c) => c.Runtime.evaluate({ expression: 'console.profileEnd()' }));
    const next = await window(s);
    expect(top(next)[0]).toBe('hotFunction');
    expect(comments(next)).toContainEqual(expect.stringMatching(RESET));
    expect(comments(next)).toContainEqual(expect.stringMatching(KEPT));
    // SIGTERM ends serve as SIGINT does: the kept profiler stops with it.
    s.run.proc.kill('SIGTERM');
    await s.run.done;
    await assertNoProfilerRunning(t.port);
  }, 120_000);
});

describe.each(['18', '20'])('serve on Node %s: windows cut from one kept CPU profiler', (major) => {
  test('successive windows come from the kept profiler, with no reset, and it stops with serve', async () => {
    const t = await startTarget('busy.js', { node: nodeBinary(major) });
    await ranFor(t.pid, 1500);
    const s = await startServe(t.port, ['--quiet']);
    for (const p of [await window(s), await window(s)]) {
      expect(top(p)[0]).toBe('hotFunction');
      expect(comments(p)).toContainEqual(expect.stringMatching(KEPT));
      expect(comments(p)).not.toContainEqual(expect.stringMatching(RESET));
    }
    // Between windows the profiler runs on (V8's profiler thread), kept by the console profile.
    expect(cpuProfilerThreads(t.pid)).toBeGreaterThan(0);
    s.run.proc.kill('SIGINT');
    expect((await s.run.done).code).toBe(0);
    await assertNoProfilerRunning(t.port);
  }, 120_000);
});

describe('the kept console profile', () => {
  test('is not replaced after every window (ending it would serialize it on the main thread)', async () => {
    const t = await startTarget('busy.js', { node: nodeBinary('22') });
    const s = await startServe(t.port, ['--quiet']);
    // Another session with the Profiler domain on hears every console profile start and finish.
    const observer = await CDP({ port: t.port, host: '127.0.0.1' });
    const seen: string[] = [];
    try {
      observer.on('Profiler.consoleProfileStarted', (e: { title?: string }) => seen.push(`started ${e.title}`));
      observer.on('Profiler.consoleProfileFinished', (e: { title?: string }) => seen.push(`finished ${e.title}`));
      await observer.send('Profiler.enable');
      for (let i = 0; i < 3; i++) expect(comments(await window(s))).toContainEqual(expect.stringMatching(KEPT));
      expect(seen).toEqual(['started nodeprof-keeper-1']);
    } finally {
      await observer.close();
    }
    s.run.proc.kill('SIGINT');
    expect((await s.run.done).code).toBe(0);
  }, 120_000);
});
