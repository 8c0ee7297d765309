// serve's bound on CPU windows (issue 27, defect 3): each profile request used to open an inspector
// session with its own V8 profiler thread; 40 concurrent profile?seconds=5 froze the target for
// over half an hour and left 40 profiler threads behind. Now at most MAX_CPU_WINDOWS run per
// target; further requests share a running window or get a 503 with Retry-After at once.
import { afterEach, describe, expect, test } from '@jest/globals';
import { MAX_CPU_WINDOWS } from '../../src/serve/cpu-window.js';
import { cpuProfilerThreads } from '../helpers/inspect.js';
import { loadProfile } from '../helpers/profiles.js';
import { killAll, startTarget, type RunningTarget } from '../helpers/processes.js';
import { request, startServe, urlFrom, type HttpAnswer } from '../helpers/serve.js';

afterEach(killAll);

/** Polls the profiler threads of pid every 20 ms until stop(): the most seen at once. */
function watchThreads(pid: number): { max(): number; stop(): number } {
  let max = 0;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, cpuProfilerThreads(pid));
    } catch {
      // the process is gone
    }
  }, 20);
  return { max: () => max, stop: () => (clearInterval(timer), max) };
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** When each "tick" line of ticker.js arrived: the target's heartbeat. */
function heartbeat(t: RunningTarget): number[] {
  const at: number[] = [];
  t.proc.stdout!.on('data', (d: Buffer) => {
    for (const _ of String(d).matchAll(/tick \d+/g)) at.push(Date.now());
  });
  return at;
}

interface Timed extends HttpAnswer {
  sentAt: number;
  answeredAt: number;
}

async function timed(url: string): Promise<Timed> {
  const sentAt = Date.now();
  const a = await request(url, { headers: { Connection: 'close' }, timeoutMs: 60_000 });
  return { ...a, sentAt, answeredAt: Date.now() };
}

function expectBusy(a: HttpAnswer): void {
  expect(a.status).toBe(503);
  expect(a.headers['x-go-pprof']).toBe('1');
  expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(a.text).toMatch(/CPU profile windows? (is|are) already running .* try again in \d+s\n$/);
}

describe('CPU windows are bounded per target', () => {
  test('40 concurrent profile?seconds=2: 200 or 503 with Retry-After in time, at most MAX_CPU_WINDOWS profiler threads, none after; the target keeps running; SIGTERM ends serve at once', async () => {
    const t = await startTarget('ticker.js');
    const ticks = heartbeat(t);
    const s = await startServe(t.port, ['--quiet']);
    const threads = watchThreads(t.pid);
    const burstAt = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => timed(`${s.url}profile?seconds=2`)));
    const burstEnd = Date.now();
    let ok = 0;
    for (const a of answers) {
      // within seconds of its window: 2 s, plus the stop and the conversion on a loaded machine
      expect(a.answeredAt - a.sentAt).toBeLessThan(12_000);
      if (a.status === 200) {
        ok++;
        const p = loadProfile(a.body);
        expect(Number(p.durationNanos)).toBeGreaterThan(1.5e9);
        expect(p.sample.length).toBeGreaterThan(0);
      } else expectBusy(a);
    }
    // sharing: not just the MAX_CPU_WINDOWS that started a window got a profile
    expect(ok).toBeGreaterThan(MAX_CPU_WINDOWS);
    expect(threads.max()).toBeGreaterThan(0);
    expect(threads.max()).toBeLessThanOrEqual(MAX_CPU_WINDOWS);
    // What stays is the one profiler serve keeps running between windows (cpu-keeper.ts), no window's.
    await until('no window profiler left', () => cpuProfilerThreads(t.pid) <= 1, 5000);
    threads.stop();
    // the target kept its 100 ms heartbeat through the burst (no gap of seconds)
    const during = ticks.filter((x) => x >= burstAt && x <= burstEnd);
    expect(during.length).toBeGreaterThan((burstEnd - burstAt) / 100 / 4);
    const gaps = during.slice(1).map((x, i) => x - during[i]!);
    expect(Math.max(...gaps)).toBeLessThan(1500);

    // SIGTERM while windows run: serve stops them and exits promptly, the target is left without a profiler
    // (lengths far apart: a request ending about when a running window does shares it instead)
    const long = [timed(`${s.url}profile?seconds=60`), timed(`${s.url}cpuprofile?seconds=30`)].map((p) =>
      p.catch((e: Error) => ({ status: 0, error: e.message })),
    );
    await until('the long windows started', () => cpuProfilerThreads(t.pid) === MAX_CPU_WINDOWS, 10_000);
    const killedAt = Date.now();
    s.run.proc.kill('SIGTERM');
    const done = await s.run.done;
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(done.code).toBe(0);
    for (const a of await Promise.all(long)) expect([0, 503]).toContain(a.status);
    await until('no profiler thread left after serve exited', () => cpuProfilerThreads(t.pid) === 0, 5000);
    const n = ticks.length;
    await until('the target still ticks', () => ticks.length >= n + 3, 5000);
  }, 120_000);

  test('a request that fits inside a running window shares it (200, its own length); one that does not gets 503 Retry-After at once; a long and a short request both get 200', async () => {
    const t = await startTarget('ticker.js');
    const s = await startServe(t.port, ['--quiet']);
    // Alloy's 14 s window plus a person's request: both answered (here 6 s and 2 s, 1 s apart)
    const scraper = timed(`${s.url}profile?seconds=6`);
    await until('the window runs', () => cpuProfilerThreads(t.pid) >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const person = await timed(`${s.url}profile?seconds=2`);
    expect(person.status).toBe(200);
    expect(Number(loadProfile(person.body).durationNanos) / 1e9).toBeCloseTo(2, 0);
    expect((await scraper).status).toBe(200);
    // What stays is the one profiler serve keeps running between windows (cpu-keeper.ts), no window's.
    await until('no window profiler left', () => cpuProfilerThreads(t.pid) <= 1, 5000);

    // every slot taken by long windows: a short request shares one (answered when it ends), a longer one is refused at once
    // (lengths 3 s apart, so each starts a window of its own)
    const longs = Array.from({ length: MAX_CPU_WINDOWS }, (_, i) => timed(`${s.url}profile?seconds=${5 + 3 * i}`));
    await until('the windows run', () => cpuProfilerThreads(t.pid) === MAX_CPU_WINDOWS, 10_000);
    const refused = await timed(`${s.url}profile?seconds=20`);
    expect(refused.answeredAt - refused.sentAt).toBeLessThan(1000);
    expectBusy(refused);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(7);
    expect(refused.text).toContain(`${MAX_CPU_WINDOWS} CPU profile windows are already running`);
    // 3 s ends before the 5 s window, and that ends within 3 s after: shared
    const shared = await timed(`${s.url}cpuprofile?seconds=3`);
    expect(shared.status).toBe(200);
    const raw = JSON.parse(shared.text) as { startTime: number; endTime: number; samples: number[] };
    expect((raw.endTime - raw.startTime) / 1e6).toBeGreaterThan(2.5);
    expect((raw.endTime - raw.startTime) / 1e6).toBeLessThan(3.5);
    expect(raw.samples.length).toBeGreaterThan(0);
    for (const a of await Promise.all(longs)) expect(a.status).toBe(200);
    // a short request is not made to wait out most of a long window: 503 at once, not a share
    const longer = [timed(`${s.url}profile?seconds=20`), timed(`${s.url}profile?seconds=25`)];
    await until('the windows run', () => cpuProfilerThreads(t.pid) === MAX_CPU_WINDOWS, 10_000);
    const short = await timed(`${s.url}profile?seconds=2`);
    expect(short.answeredAt - short.sentAt).toBeLessThan(1000);
    expectBusy(short);
    expect(Number(short.headers['retry-after'])).toBeGreaterThan(15);
    s.run.proc.kill('SIGINT');
    await Promise.all(longer.map((p) => p.catch(() => undefined)));
  }, 120_000);

  test('nodeprof/register: the same bound in process', async () => {
    const t = await startTarget('inprocess-app.js', { inspect: false, nodeArgs: ['--import', 'nodeprof/register'], env: { NODEPROF_LISTEN: '127.0.0.1:0' } });
    await until('the register serves', () => /serving http/.test(t.stderr()), 20_000);
    const { url } = urlFrom(t.stderr());
    const threads = watchThreads(t.pid);
    const answers = await Promise.all(Array.from({ length: 40 }, () => timed(`${url}profile?seconds=2`)));
    let ok = 0;
    for (const a of answers) {
      expect(a.answeredAt - a.sentAt).toBeLessThan(12_000);
      if (a.status === 200) ok++;
      else expectBusy(a);
    }
    expect(ok).toBeGreaterThan(MAX_CPU_WINDOWS);
    expect(threads.max()).toBeGreaterThan(0);
    expect(threads.max()).toBeLessThanOrEqual(MAX_CPU_WINDOWS);
    await until('no profiler thread left', () => cpuProfilerThreads(t.pid) === 0, 5000);
    threads.stop();
    // the app's main thread still answers the facade
    expect((await request(`${url}goroutine`, { timeoutMs: 10_000 })).status).toBe(200);
  }, 120_000);
});
