// Node trace events through the NodeTracing domain; knows CDP, not file formats.
//
// Order observed on Node 18.20.8, 20.20.2, 22.23.3 and 24.21.0: after NodeTracing.stop, `tracingComplete` and the stop
// response come FIRST, and the buffered events follow as one or more `dataCollected` messages
// (each ends with the `__metadata` events: process and thread names), sometimes in the same
// websocket read as the response. So stop() does not resolve on tracingComplete: it waits for a
// chunk with metadata after the stop was sent, then for the data to go quiet.
// NodeTracing.start accepts any category name silently, so requested names are checked against
// NodeTracing.getCategories first. Closing the session stops tracing in the target too.

import { UsageError } from '../errors.js';
import type { CdpSession } from '../target/session.js';
import { sleep } from '../time.js';

/**
 * What attach --trace and serve's /trace record when not told. 'node' takes in the sub-categories
 * whose events carry it too (node.async_hooks, node.perf, node.fs, node.environment): serve's
 * longer list ['node', 'node.perf', 'node.async_hooks', 'v8'] recorded the same categories (checked
 * on Node 18, 20 and 22), so there is one list.
 */
export const DEFAULT_TRACE_CATEGORIES = ['node', 'v8'];

/** How long the data must be quiet after the stop before the trace counts as complete. */
const QUIET_MS = 300;
/** Give up waiting for data this long after the stop (the trace is then marked incomplete). */
const MAX_WAIT_MS = 10_000;

export interface TraceEvent {
  pid: number;
  tid: number;
  ts: number;
  ph: string;
  cat: string;
  name: string;
  [k: string]: unknown;
}

export async function traceCategories(session: CdpSession): Promise<string[]> {
  return (await session.send('NodeTracing.getCategories')).categories;
}

/**
 * Categories the target knows: listed ones, their sub-categories (v8.execute, node.fs.sync) and
 * V8's disabled-by-default-* variants of them.
 */
export function unknownCategories(requested: string[], offered: string[]): string[] {
  const known = (c: string) => {
    const name = c.replace(/^disabled-by-default-/, '');
    return offered.some((o) => name === o || name.startsWith(`${o}.`));
  };
  return requested.filter((c) => !known(c));
}

export class TraceCollector {
  private running = false;
  private readonly chunks: TraceEvent[][] = [];
  private off: (() => void) | undefined;
  private lastDataAt = 0;
  private stoppedAt = 0;
  private stopping = false;
  private sawDataAfterStop = false;

  constructor(readonly categories: string[]) {}

  async start(session: CdpSession): Promise<void> {
    const offered = await traceCategories(session);
    const bad = unknownCategories(this.categories, offered);
    if (bad.length > 0) {
      throw new UsageError(
        `unknown trace ${bad.length === 1 ? 'category' : 'categories'} ${bad.map((c) => `'${c}'`).join(', ')}: the target offers ${offered.join(', ')} (see --list-categories)`,
      );
    }
    this.off = session.on('NodeTracing.dataCollected', ({ value }) => {
      this.chunks.push(value as TraceEvent[]);
      this.lastDataAt = Date.now();
      if (this.stopping && (value as TraceEvent[]).some((e) => e.ph === 'M')) this.sawDataAfterStop = true;
    });
    await session.send('NodeTracing.start', { traceConfig: { recordMode: 'recordContinuously', includedCategories: this.categories } });
    this.running = true;
  }

  /** Stops tracing and returns every event, with `complete` false if the data never went quiet. */
  async stop(session: CdpSession): Promise<{ events: TraceEvent[]; complete: boolean }> {
    this.stopping = true;
    await session.send('NodeTracing.stop');
    this.running = false;
    this.stoppedAt = Date.now();
    let complete = false;
    while (Date.now() - this.stoppedAt < MAX_WAIT_MS && !session.isEnded) {
      if (this.sawDataAfterStop && Date.now() - this.lastDataAt >= QUIET_MS) {
        complete = true;
        break;
      }
      await sleep(50);
    }
    this.off?.();
    this.off = undefined;
    return { events: this.chunks.flat(), complete };
  }

  async cleanup(session: CdpSession): Promise<void> {
    this.off?.();
    this.off = undefined;
    if (session.isEnded || !this.running) return;
    this.running = false;
    await session.send('NodeTracing.stop').catch(() => undefined);
  }
}
