// --workers (attach --cpu and stack) against a process whose worker threads burn CPU in a named
// function, and `stack` against a process it cannot pause (blocked in native code).
import { afterEach, describe, expect, test } from '@jest/globals';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { expectWorkerThreads, top } from '../helpers/checks.js';
import { commentsOf, startStuckServer } from '../helpers/stuck.js';
import { stacks } from '../../src/pprof/query.js';

afterEach(killAll);

describe('--workers', () => {
  test('attach --cpu: the worker function under a worker thread label, the main function under thread=main, a worker started mid-window too', async () => {
    const t = await startTarget('workers.js', { args: ['late', '1500'] });
    const r = await runCli(['attach', String(t.port), '--cpu', '4s', '--workers']);
    expect(r.code).toBe(0);
    const threads = expectWorkerThreads(r.stdout);
    // started 1.5 s after the process, while the window ran
    expect(top(threads.get('worker 2 late-hasher'))).toBe('workerHotFunction');
    expect(r.stderr).toMatch(/cpu: worker 1 hasher: \d+ samples/);
    // every sample carries the label
    expect(stacks(loadProfile(r.stdout)).every((s) => typeof s.labels.thread === 'string')).toBe(true);
  });

  test('without --workers only the main thread is profiled, with no thread label', async () => {
    const t = await startTarget('workers.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(r.code).toBe(0);
    const p = loadProfile(r.stdout);
    expect(byFunction(p, 'cpu').flat.has('workerHotFunction')).toBe(false);
    expect(stacks(p).every((s) => s.labels.thread === undefined)).toBe(true);
  });

  test('collapsed output prefixes each stack with its thread', async () => {
    const t = await startTarget('workers.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '1s', '--workers', '--format', 'collapsed']);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().trim().split('\n');
    expect(lines.some((l) => /^\[worker 1 hasher\];.*workerHotFunction \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^\[main\];.*mainHotFunction \d+$/.test(l))).toBe(true);
  });

  test('every thread is recorded as one alone is: its event loop check (and JIT reset) in the profile comments', async () => {
    const t = await startTarget('workers.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '1s', '--workers']);
    expect(r.code).toBe(0);
    const comments = commentsOf(loadProfile(r.stdout));
    expect(comments).toContainEqual(expect.stringMatching(/^nodeprof: event loop turning at attach/));
    // The busy worker's loop may miss the 1 s probe on a loaded machine: turning or blocked, it is told.
    expect(comments).toContainEqual(expect.stringMatching(/^nodeprof: worker 1 hasher: event loop (turning|blocked) at attach/));
  });

  test('a blocked main loop is told as soon as it is found, as without --workers', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=10000');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '--workers']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/event loop blocked at attach \(no turn within \d+ ms\): pausing the target briefly/);
    expect(r.stderr).toMatch(/running at attach: crunch/);
    expect(commentsOf(loadProfile(r.stdout)).join('\n')).toMatch(/running at attach: crunch/);
    await expect(answer).resolves.toMatch(/^spun /);
  });

  test('stack --workers prints the main thread and the worker, each in its own function', async () => {
    const t = await startTarget('workers.js');
    const r = await runCli(['stack', String(t.port), '--workers']);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    const main = /Thread main:\n((?: {4}.*\n)+)/.exec(text)?.[1] ?? '';
    const worker = /Thread worker 1 hasher:\n((?: {4}.*\n)+)/.exec(text)?.[1] ?? '';
    expect(worker.split('\n')[0]).toMatch(/^ {4}workerHotFunction \(.*workers\.js:\d+:\d+\)$/);
    expect(main).toMatch(/mainHotFunction|listOnTimeout|processTimers|processImmediate|\(idle/);
    const json = await runCli(['stack', String(t.port), '--workers', '--json']);
    const parsed = JSON.parse(json.stdout.toString()) as { threads: Array<{ thread: string; frames: Array<{ functionName: string }> }> };
    expect(parsed.threads.map((x) => x.thread)).toEqual(['main', 'worker 1 hasher']);
    expect(parsed.threads[1]!.frames[0]!.functionName).toBe('workerHotFunction');
  });
});

describe('stack on a process that cannot pause', () => {
  test('blocked in native code: a bounded wait, one clear line, and the process is not left paused', async () => {
    const t = await startTarget('blocked.js');
    const r = await runCli(['stack', String(t.port), '--timeout', '300ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not pause within 0\.3s: it is probably blocked in native code/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // A pause left pending would stop it at its next JavaScript statement: it must keep ticking.
    const ticks = Number(/tick (\d+)\n$/.exec(t.stdout())?.[1] ?? 0);
    await t.waitForStdout(new RegExp(`tick ${ticks + 3}\\n`), 15_000);
  });
});
