// The serve fault catalogue: SIGINT/SIGTERM while attaching, idle, serving, with the target gone
// or unable to answer; the connection to the target dropped and restored. serve exits 0 on a
// signal (130 on a second one, or on one that comes before it serves), within seconds, and leaves
// nothing of ours running in the target.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { assertNoProfilerRunning, profilersRunning } from '../helpers/inspect.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, startCli, startTarget } from '../helpers/processes.js';
import { blackHole, proxy } from '../helpers/proxy.js';
import { nativeBlocker } from '../helpers/stuck.js';
import { request, startServe, type HttpAnswer } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await killAll();
});

/** A hang check, not a timing test. */
const PROMPTLY_MS = 15_000;

/** Asks until the answer's status is `status` (the target's state changes asynchronously); the last answer. */
async function until(url: string, status: number, timeoutMs = 20_000): Promise<HttpAnswer> {
  let last: HttpAnswer | undefined;
  await waitFor(async () => (last = await request(url, { timeoutMs: 10_000 })).status === status, timeoutMs, `${url} to answer ${status}`).catch(
    () => undefined,
  );
  return last!;
}

/** Resolves once a CPU profile runs in the target (with serve's heap sampler, and whatever else). */
async function cpuRunning(port: number): Promise<void> {
  await waitFor(async () => (await profilersRunning(port)).includes('1 CPU profile(s)'), 20_000, 'a CPU profile running in the target');
}

describe('serve: SIGINT and SIGTERM in each phase', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s while idle: exit 0 within seconds, the heap sampler stopped', async (signal) => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    expect(await profilersRunning(t.port)).toEqual(['the heap sampler']);
    const sentAt = Date.now();
    s.run.proc.kill(signal);
    const r = await s.run.done;
    expect(r.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    expect(r.stderr).toMatch(/stopping: ending every collection in the target/);
    await assertNoProfilerRunning(t.port);
  });

  test('SIGINT while a CPU window and a trace are being served: exit 0, both answered 503 or cut, nothing left running', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    const cpu = request(`${s.url}profile?seconds=60`).catch((e: Error) => e);
    const trace = request(`${s.url}trace?seconds=60`).catch((e: Error) => e);
    const all = ['1 CPU profile(s)', 'the heap sampler', 'tracing (node,v8)'];
    await waitFor(async () => JSON.stringify(await profilersRunning(t.port)) === JSON.stringify(all), 20_000, `${all.join(', ')} running in the target`);
    const sentAt = Date.now();
    s.run.proc.kill('SIGINT');
    const r = await s.run.done;
    expect(r.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    for (const a of [await cpu, await trace]) if (!(a instanceof Error)) expect(a.status).toBe(503);
    await assertNoProfilerRunning(t.port);
  });

  test('SIGTERM while the target is gone (serve retrying): exit 0 within seconds', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port);
    t.proc.kill('SIGKILL');
    await t.exited;
    await until(`${s.url}heap`, 503);
    // at least one reconnect attempt made: serve retries the target's port, where this listens now
    let attempts = 0;
    const catcher = net.createServer((c) => (attempts++, c.destroy()));
    await new Promise<void>((resolve) => catcher.listen(t.port, '127.0.0.1', resolve));
    cleanups.push(() => void catcher.close());
    await waitFor(() => attempts > 0, 20_000, 'serve to try the target again');
    const sentAt = Date.now();
    s.run.proc.kill('SIGTERM');
    const r = await s.run.done;
    expect(r.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
  });

  test('SIGINT while attaching to a port that never answers: exit 130 at once', async () => {
    const hole = await blackHole();
    cleanups.push(hole.close);
    const run = startCli(['serve', '--target', String(hole.port), '--listen', '127.0.0.1:0']);
    await hole.connected;
    const sentAt = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(3000);
    expect(r.stderr).toMatch(new RegExp(`^nodeprof: interrupted while attaching to 127\\.0\\.0\\.1:${hole.port}: nothing was served$`, 'm'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('SIGINT while the target cannot answer (a long native call): exit 0 within seconds; nothing left once it runs again', async () => {
    const t = await startTarget('native-block.js');
    const s = await startServe(t.port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-serve-fifo-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const native = nativeBlocker(t, dir);
    await native.block();
    const sentAt = Date.now();
    s.run.proc.kill('SIGINT');
    const r = await s.run.done;
    expect(r.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
  });

  test('requests while the target cannot answer (a long native call): 503 with the reason after the bound, not a hang; answered again once it runs', async () => {
    const t = await startTarget('native-block.js');
    const s = await startServe(t.port, [], { NODEPROF_ANSWER_TIMEOUT_MS: '2000', NODEPROF_STOP_TIMEOUT_MS: '3000' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-serve-fifo-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const native = nativeBlocker(t, dir);
    // A CPU window that is running when the target blocks (its stop cannot be answered), and
    // requests that come while it is blocked.
    const during = request(`${s.url}profile?seconds=4`, { timeoutMs: 60_000 });
    await cpuRunning(t.port);
    await native.block();
    const sentAt = Date.now();
    const answers = await Promise.all([
      during,
      ...['heap', 'allocs', 'heap?gc=1', 'heap', 'profile?seconds=1', 'trace?seconds=1'].map((p) => request(`${s.url}${p}`, { timeoutMs: 60_000 })),
    ]);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.headers['retry-after']).toBe('5');
      expect(a.headers['x-go-pprof']).toBe('1');
      expect(a.text).toMatch(/did not answer within 2s.*long native call/);
    }
    expect(answers[0]!.text).toMatch(/within 2s of the end of its 4s window/);
    // A heap snapshot the target never starts: 503 after the snapshot's own start bound (3 s here,
    // 30 s by default), not a 200 without a body.
    const snapshot = await request(`${s.url}heapsnapshot`, { timeoutMs: 60_000 });
    expect(snapshot.status).toBe(503);
    expect(snapshot.headers['retry-after']).toBe('5');
    expect(snapshot.text).toMatch(/did not start the heap snapshot within 3s/);
    await native.unblock();
    const heap = await until(`${s.url}heap`, 200);
    expect(heap.status).toBe(200);
    const cpu = await request(`${s.url}profile?seconds=1`, { timeoutMs: 30_000 });
    expect(cpu.status).toBe(200);
    expect(byFunction(loadProfile(cpu.body), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    const again = await request(`${s.url}heapsnapshot`, { timeoutMs: 60_000 });
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toHaveProperty('snapshot');
    s.run.proc.kill('SIGINT');
    expect((await s.run.done).code).toBe(0);
    await assertNoProfilerRunning(t.port);
  });

  test('a second Ctrl-C while serve shuts down exits 130 at once', async () => {
    const t = await startTarget('native-block.js');
    const s = await startServe(t.port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-serve-fifo-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const native = nativeBlocker(t, dir);
    await native.block();
    s.run.proc.kill('SIGINT'); // shutdown now waits (a bounded time) for the target to stop the sampler
    await s.run.waitForStderr(/stopping: ending every collection/);
    const sentAt = Date.now();
    s.run.proc.kill('SIGINT');
    const r = await s.run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(3000);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
  });
});

describe('serve: the connection to the target drops', () => {
  test('requests answer 503 with the reason, serve runs on, and reattaches when the connection is back', async () => {
    const t = await startTarget('busy.js');
    const p = await proxy(t.port);
    cleanups.push(p.close);
    const s = await startServe(p.port);
    expect((await request(`${s.url}heap`)).status).toBe(200);
    const inflight = request(`${s.url}profile?seconds=30`);
    await cpuRunning(t.port);
    p.cut();
    // the request in flight: its session dropped
    const cut = await inflight;
    expect([502, 503]).toContain(cut.status);
    expect(cut.headers['x-go-pprof']).toBe('1');
    expect(cut.text).toMatch(/went away|is gone/);
    const gone = await until(`${s.url}heap`, 503);
    expect(gone.status).toBe(503);
    expect(gone.text).toMatch(new RegExp(`target 127\\.0\\.0\\.1:${p.port} is gone .*keeps retrying`));
    expect((await request(`${s.url}profile?seconds=1`)).status).toBe(503);
    expect(s.run.proc.exitCode).toBeNull();
    // the target's side of the cut connection ended the session: our sampler and profiler stopped
    await assertNoProfilerRunning(t.port);
    await p.restore();
    expect((await until(`${s.url}heap`, 200)).status).toBe(200);
    expect(byFunction(loadProfile((await request(`${s.url}profile?seconds=1`)).body), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(s.stderr()).toMatch(/went away; answering 503 and reconnecting/);
    expect(s.stderr()).toMatch(/reattached to 127\.0\.0\.1:\d+ \(pid \d+\); heap sampling restarted/);
    s.run.proc.kill('SIGTERM');
    expect((await s.run.done).code).toBe(0);
    await assertNoProfilerRunning(t.port);
  });
});
