// A profiler must never keep an application from exiting (issue 28). Node waits, after a target's
// last line, until every inspector session has gone; nodeprof asks to be told
// (NodeRuntime.notifyWhenWaitingForDisconnect), keeps what it can and lets go at once.

import { afterEach, describe, expect, test } from '@jest/globals';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { cpuProfilerThreads } from '../helpers/inspect.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, ROOT, startCli, startTarget, type RunningTarget } from '../helpers/processes.js';
import { request, startServe } from '../helpers/serve.js';
import { nodeBinary, targetMajors } from '../helpers/node-versions.js';

afterEach(killAll);

/** Node binaries: the one running the tests, and the other majors `npm test` covers. */
const nodes: Array<[string, () => string]> = [
  [`this Node (${process.version})`, () => process.execPath],
  ...targetMajors().map((m): [string, () => string] => [`Node ${m}`, () => nodeBinary(m)]),
];

/** Bound between the target's "work done" line and its exit, as the issue states it. */
const EXIT_BOUND_MS = 1000;

/** Starts the work and resolves with [when its work ended, when it exited, its exit code]. */
async function finish(t: RunningTarget): Promise<{ workDone: number; exitedAt: number; code: number | null }> {
  let exitedAt = 0;
  t.proc.once('exit', () => (exitedAt = Date.now()));
  t.proc.stdin!.end('go\n');
  const line = await t.waitForStdout(/work done (\d+)/, 60_000);
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([t.exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 20_000)))]);
  clearTimeout(timer);
  if (code === 'hung') throw new Error(`the target did not exit within 20 s of its work's end; stderr: ${t.stderr()}`);
  const workDone = Number(/(\d+)$/.exec(line)![1]);
  if (process.env.NODEPROF_TEST_VERBOSE) process.stderr.write(`exit ${exitedAt - workDone} ms after the work\n`);
  return { workDone, exitedAt, code };
}

describe.each(nodes)('a target that finishes exits while nodeprof is attached: %s', (_label, node) => {
  test('serve attached and idle: the target exits with its own code, serve answers 503 for it', async () => {
    const t = await startTarget('finishes.js', { node: node() });
    const s = await startServe(t.port);
    const { workDone, exitedAt, code } = await finish(t);
    expect(code).toBe(7);
    expect(exitedAt - workDone).toBeLessThan(EXIT_BOUND_MS);
    const heap = await request(`${s.url}heap`);
    expect(heap.status).toBe(503);
    expect(heap.headers['retry-after']).toBeDefined();
    expect(heap.text).toMatch(/gone/);
    await s.run.waitForStderr(/finished its work and is exiting; answering 503/);
  });

  test('serve with a CPU window open: the target exits, and the window is answered with what it had', async () => {
    const t = await startTarget('finishes.js', { node: node() });
    const s = await startServe(t.port);
    const answer = request(`${s.url}profile?seconds=30`);
    // The window's session is open once its profiler runs: a thread of V8's in the target.
    await waitForProfilerThread(t.pid);
    const { workDone, exitedAt, code } = await finish(t);
    expect(code).toBe(7);
    expect(exitedAt - workDone).toBeLessThan(EXIT_BOUND_MS);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(byFunction(loadProfile(res.body)).cum.get('finishingWork')).toBeGreaterThan(0);
  });

  test('attach --cpu 30s: the target exits, attach writes the partial profile and says why', async () => {
    const t = await startTarget('finishes.js', { node: node() });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-exit-'));
    const out = path.join(dir, 'cpu.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '-o', out]);
    await run.waitForStderr(/collecting CPU/, 30_000);
    await waitForProfilerThread(t.pid);
    const { workDone, exitedAt, code } = await finish(t);
    expect(code).toBe(7);
    expect(exitedAt - workDone).toBeLessThan(EXIT_BOUND_MS);
    const r = await run.done;
    expect(r.stderr).toMatch(/finished its work and is exiting after [\d.]+m?s: writing what was collected/);
    expect(r.code).toBe(0);
    expect(byFunction(loadProfile(out)).cum.get('finishingWork')).toBeGreaterThan(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

test('--import nodeprof/register with a CPU window open: the target exits with its own code', async () => {
  const t = await startTarget('finishes.js', {
    inspect: false,
    nodeArgs: ['--import', path.join(ROOT, 'dist/src/register.js')],
    env: { NODEPROF_LISTEN: '127.0.0.1:0' },
  });
  const deadline = Date.now() + 20_000;
  let url = '';
  while (!url && Date.now() < deadline) {
    url = /serving (http:\/\/\S+\/debug\/pprof\/)/.exec(t.stderr())?.[1] ?? '';
    if (!url) await new Promise((r) => setTimeout(r, 50));
  }
  expect(url).not.toBe('');
  const answer = request(`${url}profile?seconds=30`).catch((err: Error) => err);
  await waitForProfilerThread(t.pid);
  const { workDone, exitedAt, code } = await finish(t);
  expect(code).toBe(7);
  expect(exitedAt - workDone).toBeLessThan(EXIT_BOUND_MS);
  await answer; // the facade went with the process: a reset connection, not a hang
});

/** V8's profiler runs in a thread of its own (v8:ProfEvntProc) while any session profiles. */
async function waitForProfilerThread(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (cpuProfilerThreads(pid) > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no V8 profiler thread in pid ${pid} within 30 s`);
}
