// `nodeprof top` in a real terminal (tmux): the fixture's hot function is on top of the first
// screen with samples, the keys sort and switch to lines and threads, q and Ctrl-C quit with 0, and
// the target is left without a CPU profiler running. On the Node running the tests and on Node 22
// (where the kept profiler's one JIT reset is what makes the attribution right).
import { afterEach, describe, expect, test } from '@jest/globals';
import { assertNoProfilerRunning, cpuProfilerThreadIds } from '../helpers/inspect.js';
import { nodeBinary } from '../helpers/node-versions.js';
import { killAll, startTarget, type RunningTarget } from '../helpers/processes.js';
import { killTmux, startInTmux, type TmuxRun } from '../helpers/tmux.js';
import { waitFor } from '../helpers/wait.js';

afterEach(async () => {
  killTmux();
  await killAll();
});

/** The table's rows: [%Own, %Total, OwnTime, TotalTime, function and place]. */
function rows(screen: string[]): Array<{ own: number; total: number; fn: string }> {
  const header = screen.findIndex((l) => /%Own.*%Total.*OwnTime.*TotalTime/.test(l));
  if (header < 0) return [];
  const out = [];
  for (const line of screen.slice(header + 1)) {
    const m = /^\s*([\d.]+)%\s+([\d.]+)%\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!m) break;
    out.push({ own: Number(m[1]), total: Number(m[2]), fn: m[3]! });
  }
  return out;
}

/** The first screen that shows samples, and how long after start it came. */
async function firstData(top: TmuxRun, startedAt: number): Promise<{ screen: string[]; ms: number }> {
  return waitFor(
    () => {
      if (top.exitCode() !== undefined) throw new Error(`top exited ${top.exitCode()}: ${top.stderr()}`);
      const screen = top.screen();
      return rows(screen).length > 0 && { screen, ms: Date.now() - startedAt };
    },
    30_000,
    'top to show samples',
  );
}

async function cpuTarget(node?: string): Promise<RunningTarget> {
  return startTarget('busy.js', { node });
}

describe.each([
  ['the test runner', undefined],
  ['22', '22'],
])('nodeprof top on Node %s', (_name, major) => {
  test('the hot function is on top of the first screen; keys sort and show lines; q leaves no profiler', async () => {
    const t = await cpuTarget(major ? nodeBinary(major) : undefined);
    const startedAt = Date.now();
    const top = startInTmux(['top', String(t.port)]);
    const { screen, ms } = await firstData(top, startedAt);
    // The issue asks for it within 3 s; reported rather than asserted (a loaded CI machine).
    process.stderr.write(`top: first samples on screen ${ms} ms after start\n`);
    const first = rows(screen);
    expect(first[0]!.fn).toMatch(/^hotFunction \(.*busy\.js:5\)$/);
    expect(first[0]!.own).toBeGreaterThan(50);
    expect(screen.join('\n')).toMatch(/sampling at 100 Hz/);
    expect(screen.join('\n')).toMatch(/%Own▼/);

    // One profiler kept running across refreshes (V8 starts a thread per profiler start), not one
    // started (and on Node 22 its code deoptimized) every second.
    const seen = new Set<number>();
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      cpuProfilerThreadIds(t.pid).forEach((id) => seen.add(id));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...seen]).toHaveLength(1);

    top.keys('2');
    await waitFor(() => top.screen().some((l) => /%Total▼/.test(l)), 10_000, 'the sort to change to %Total');
    top.keys('l');
    // Lines: the hot line of the fixture is line 8.
    await waitFor(() => rows(top.screen()).some((r) => /^hotFunction \(.*busy\.js:8\)$/.test(r.fn)), 10_000, 'line 8 of hotFunction');

    // Paused: the table stands still (two refreshes later it is the same), and goes on after p.
    top.keys('p');
    await waitFor(() => top.screen().some((l) => /PAUSED/.test(l)), 10_000, 'PAUSED');
    const frozen = top.screen().join('\n');
    await new Promise((r) => setTimeout(r, 2500));
    expect(top.screen().join('\n')).toBe(frozen);
    top.keys('p');
    await waitFor(() => top.screen().join('\n') !== frozen && !top.screen().some((l) => /PAUSED/.test(l)), 10_000, 'the screen to move again');

    top.keys('q');
    expect(await top.waitForExit()).toBe(0);
    await assertNoProfilerRunning(t.port);
    expect(t.proc.exitCode).toBeNull();
  }, 120_000);
});

test('--workers: Tab shows the worker, whose own hot function is on top; Ctrl-C quits with 0', async () => {
  const t = await startTarget('workers.js', { node: nodeBinary('22') });
  const top = startInTmux(['top', String(t.port), '--workers']);
  await waitFor(() => top.screen().some((l) => /threads \(Tab\): \[main\]\s+worker \d+ hasher/.test(l)), 30_000, 'the worker in the thread list');
  await waitFor(() => rows(top.screen())[0]?.fn.startsWith('mainHotFunction ('), 30_000, 'mainHotFunction on top of main');
  top.keys('Tab');
  await waitFor(() => top.screen().some((l) => /^worker \d+ hasher: sampling/.test(l)), 10_000, 'the worker selected');
  await waitFor(() => rows(top.screen())[0]?.fn.startsWith('workerHotFunction ('), 30_000, 'workerHotFunction on top of the worker');
  top.keys('C-c');
  expect(await top.waitForExit()).toBe(0);
  await assertNoProfilerRunning(t.port);
}, 120_000);

test('the target exiting ends top with a line saying so', async () => {
  const t = await cpuTarget();
  const top = startInTmux(['top', String(t.port)]);
  await firstData(top, Date.now());
  t.proc.kill('SIGKILL');
  expect(await top.waitForExit()).toBe(0);
  expect(top.stderr()).toMatch(/^nodeprof: .*exited$/m);
}, 120_000);
