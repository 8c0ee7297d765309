// CpuWindows (src/serve/cpu-window.ts): the bound on CPU windows per target, sharing, and that a
// slot is given back however a window ends. A fake record() stands for the inspector session.
import { describe, expect, test } from '@jest/globals';
import type { Protocol } from 'devtools-protocol';
import { CpuBusyError, CpuWindows, cutWindow, type CpuWindow } from '../../src/serve/cpu-window.js';

function fakeWindow(startedAtMs: number, ms: number): CpuWindow {
  // one sample per ms on node 2, from V8's clock 1e9 µs
  const n = ms;
  const profile: Protocol.Profiler.Profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2], hitCount: 0 },
      { id: 2, callFrame: { functionName: 'hot', scriptId: '1', url: 'file:///a.js', lineNumber: 1, columnNumber: 1 }, hitCount: n },
    ],
    startTime: 1e9,
    endTime: 1e9 + ms * 1000,
    samples: Array.from({ length: n }, () => 2),
    timeDeltas: Array.from({ length: n }, () => 1000),
  };
  return { profile, startedAtMs, intervalUs: 1000, comments: [] };
}

const never = new AbortController().signal;

describe('CpuWindows', () => {
  test('at most max windows; a request that fits shares one; one that does not is refused at once', async () => {
    const records: number[] = [];
    const windows = new CpuWindows(2, async (ms) => {
      const at = Date.now();
      records.push(ms);
      await new Promise((r) => setTimeout(r, ms));
      return fakeWindow(at, ms);
    });
    const a = windows.take(300, never);
    // A request in the same millisecond gets a's whole profile, without the comment: come later.
    const t0 = Date.now();
    while (Date.now() === t0) await new Promise((r) => setImmediate(r));
    const b = windows.take(300, never); // ends within 1 s of a's end: shares a
    expect(windows.count).toBe(1);
    const c = windows.take(1500, never); // own window: room for one more
    expect(windows.count).toBe(2);
    await expect(windows.take(5000, never)).rejects.toBeInstanceOf(CpuBusyError);
    const [wa, wb] = await Promise.all([a, b, c]);
    expect(records).toEqual([300, 1500]);
    expect(wa.profile.samples!.length).toBe(300);
    expect(wb.profile.samples!.length).toBeGreaterThan(250);
    expect(wb.comments.join()).toMatch(/shared a CPU window/);
    expect(windows.count).toBe(0);
  });

  test('a slot is given back when record() fails at once, later, or every client leaves', async () => {
    const failing = new CpuWindows(1, () => {
      throw new Error('target gone');
    });
    for (let i = 0; i < 3; i++) await expect(failing.take(100, never)).rejects.toThrow('target gone');
    expect(failing.count).toBe(0);

    const stopped: boolean[] = [];
    const slow = new CpuWindows(
      1,
      (ms, stop) => new Promise((_, reject) => stop.addEventListener('abort', () => (stopped.push(true), reject(stop.reason)), { once: true })),
    );
    const client = new AbortController();
    const p = slow.take(10_000, client.signal);
    expect(slow.count).toBe(1);
    client.abort(new Error('client closed'));
    await expect(p).rejects.toThrow('client closed');
    await new Promise((r) => setImmediate(r));
    expect(stopped).toEqual([true]);
    expect(slow.count).toBe(0);
  });

  test('a window every client left is not shared: the next request gets a window of its own', async () => {
    // As after a client hung up (or sent a request Node's parser refused) just before another came.
    const records: number[] = [];
    const windows = new CpuWindows(2, async (ms, stop) => {
      const at = Date.now();
      records.push(ms);
      // a stopped window ends a little later (its session closes), as the facade's do
      await new Promise((r) => setTimeout(r, ms));
      stop.throwIfAborted();
      return fakeWindow(at, ms);
    });
    const gone = new AbortController();
    const a = windows.take(300, gone.signal);
    gone.abort(new Error('client closed'));
    await expect(a).rejects.toThrow('client closed');
    expect(windows.count).toBe(1); // its slot is held until record() ends
    const t0 = Date.now();
    while (Date.now() === t0) await new Promise((r) => setImmediate(r));
    const b = await windows.take(250, never);
    expect(records).toEqual([300, 250]);
    expect(b.profile.samples!.length).toBe(250);
  });

  test('a window is shared only by requests at its sampling rate', async () => {
    const rates: Array<number | undefined> = [];
    const windows = new CpuWindows(2, async (ms, _stop, intervalUs) => {
      const at = Date.now();
      rates.push(intervalUs);
      await new Promise((r) => setTimeout(r, ms));
      return { ...fakeWindow(at, ms), intervalUs: intervalUs ?? 1000 };
    });
    const a = windows.take(200, never);
    const b = windows.take(200, never, 100); // would share a at the same rate
    expect(windows.count).toBe(2);
    await expect(windows.take(200, never, 5000)).rejects.toBeInstanceOf(CpuBusyError);
    const c = windows.take(200, never, 100); // shares b
    expect(windows.count).toBe(2);
    const [wa, wb, wc] = await Promise.all([a, b, c]);
    expect(rates).toEqual([undefined, 100]);
    expect([wa.intervalUs, wb.intervalUs, wc.intervalUs]).toEqual([1000, 100, 100]);
  });

  test('cutWindow keeps the samples of its part, with hit counts and times to match', () => {
    const w = fakeWindow(1000, 1000);
    const part = cutWindow(w, 1200, 1500);
    expect(part.profile.samples!.length).toBeGreaterThanOrEqual(300);
    expect(part.profile.samples!.length).toBeLessThanOrEqual(301);
    expect(part.profile.nodes.find((n) => n.id === 2)!.hitCount).toBe(part.profile.samples!.length);
    expect((part.profile.endTime - part.profile.startTime) / 1000).toBeCloseTo(300, 0);
    expect(part.startedAtMs).toBeCloseTo(1200, 0);
    // the window itself is untouched
    expect(w.profile.samples!.length).toBe(1000);
    expect(w.profile.nodes[1]!.hitCount).toBe(1000);
  });
});
