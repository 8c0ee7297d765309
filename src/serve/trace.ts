// Node trace events over a window (NodeTracing.start/stop): the events as Chrome trace JSON.

import type { CdpSession } from '../target/session.js';
import { withTimeout } from '../target/connect.js';
import { sleep } from './sleep.js';

const QUIET_MS = 250;
const FIRST_DATA_MS = 1000;
const MAX_DRAIN_MS = 5000;

export const DEFAULT_TRACE_CATEGORIES = ['node', 'node.perf', 'node.async_hooks', 'v8'];

export async function collectTrace(session: CdpSession, ms: number, categories: string[], signal: AbortSignal): Promise<object[]> {
  const events: object[] = [];
  let complete!: () => void;
  const completed = new Promise<void>((resolve) => (complete = resolve));
  let lastDataAt = 0;
  const offData = session.on('NodeTracing.dataCollected', (p) => {
    lastDataAt = Date.now();
    for (const e of p.value) events.push(e);
  });
  // Seen on Node 20: tracingComplete arrives BEFORE the dataCollected events (by ~10 ms), so after
  // it, wait until the data has gone quiet.
  const offDone = session.on('NodeTracing.tracingComplete', () => complete());
  let started = false;
  try {
    await session.send('NodeTracing.start', { traceConfig: { recordMode: 'recordContinuously', includedCategories: categories } });
    started = true;
    await sleep(ms, signal);
    started = false;
    lastDataAt = 0; // wait for the data flushed by stop, not for chunks sent during the window
    await session.send('NodeTracing.stop');
    await withTimeout(completed, 10_000, 'the target did not finish sending trace events within 10s');
    const doneAt = Date.now();
    for (;;) {
      const now = Date.now();
      const quiet = lastDataAt ? now - lastDataAt >= QUIET_MS : now - doneAt >= FIRST_DATA_MS;
      if (quiet || now - doneAt > MAX_DRAIN_MS) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    return events;
  } finally {
    if (started) await session.send('NodeTracing.stop').catch(() => undefined);
    offData();
    offDone();
  }
}
