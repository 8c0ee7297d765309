// Node trace events over a window for /debug/pprof/trace, through the same TraceCollector as
// `attach --trace` (it waits for the events that NodeTracing sends after tracingComplete).

import { TraceCollector } from '../collect/trace.js';
import { UsageError } from '../errors.js';
import type { CdpSession } from '../target/session.js';
import { HttpError } from './http-error.js';
import { sleep } from '../time.js';

export async function collectTrace(session: CdpSession, ms: number, categories: string[], signal: AbortSignal): Promise<object[]> {
  const collector = new TraceCollector(categories);
  try {
    try {
      await collector.start(session);
    } catch (err) {
      // Unknown categories: the request's fault, not the server's.
      if (err instanceof UsageError) throw new HttpError(400, err.message);
      throw err;
    }
    await sleep(ms, { signal });
    return (await collector.stop(session)).events;
  } finally {
    await collector.cleanup(session);
  }
}
