// On Node 22+ serve keeps one V8 CPU profiler running for its windows (src/serve/cpu-keeper.ts): a
// hot loop compiled before serve attached is attributed in every window, with the JIT reset once,
// and nothing of it runs in the target once serve has gone.
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Profile } from 'pprof-format';
import { assertNoProfilerRunning, withInspector } from '../helpers/inspect.js';
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
