// The goroutine analog: the main thread's current JavaScript stack, read WITHOUT pausing it.
//
// A Runtime.evaluate is served on an interrupt when JavaScript is running, on top of the running
// frames, so an Error stack captured by the evaluated code contains the interrupted frames below
// its own (about a millisecond, also while the thread spins in a loop; bench/RESULTS.md). An idle
// event loop has no frames under it. Debugger.pause (what `nodeprof stack` uses) gives the same
// stack but stops the thread for tens of milliseconds and risks leaving it paused; scrapers fetch
// goroutine every 15 s, so no pause.

import { scriptPath, functionName, type Frame } from '../pprof/frame.js';
import type { CdpSession } from '../target/session.js';
import { withTimeout } from '../time.js';

export interface ThreadStack {
  thread: string;
  /** Leaf first; empty when the event loop was idle. */
  frames: Frame[];
  state: 'running' | 'idle' | 'unresponsive';
}

const MARK = '__nodeprof_stack__';
const EXPRESSION = `(function ${MARK}() {
  const E = Error, prep = E.prepareStackTrace, limit = E.stackTraceLimit;
  try {
    E.stackTraceLimit = 512;
    E.prepareStackTrace = (_, callSites) => callSites;
    const holder = {};
    E.captureStackTrace(holder, ${MARK});
    return JSON.stringify(holder.stack.map((c) => [c.getFunctionName() || (c.getMethodName() || ''), c.getFileName() || c.getScriptNameOrSourceURL() || '', c.getLineNumber() || 0, c.getColumnNumber() || 0]));
  } finally {
    E.prepareStackTrace = prep;
    E.stackTraceLimit = limit;
  }
})()`;

type Evaluate = (params: { expression: string; returnByValue: boolean; silent: boolean }) => Promise<{ result: { value?: unknown } }>;

/** The stack of one thread, by an evaluate sent to it (directly, or through NodeWorker). */
export async function threadStack(thread: string, evaluate: Evaluate, timeoutMs = 2000): Promise<ThreadStack> {
  let value: unknown;
  try {
    const res = await withTimeout(evaluate({ expression: EXPRESSION, returnByValue: true, silent: true }), timeoutMs, 'timeout');
    value = res.result.value;
  } catch (err) {
    if ((err as Error).message === 'timeout') return { thread, frames: [], state: 'unresponsive' };
    throw err;
  }
  if (typeof value !== 'string') return { thread, frames: [], state: 'idle' };
  const raw = JSON.parse(value) as Array<[string, string, number, number]>;
  // The evaluated script's own top-level frame has no file name: drop it (and any like it on top).
  let start = 0;
  while (start < raw.length && raw[start]![1] === '') start++;
  const frames = raw.slice(start).map(([name, url, line, column]): Frame => {
    const file = scriptPath(url);
    return { name: functionName(name, file, line), file, line, column, startLine: 0 };
  });
  return { thread, frames, state: frames.length ? 'running' : 'idle' };
}

export function mainThreadStack(session: CdpSession, timeoutMs = 2000): Promise<ThreadStack> {
  return threadStack('main', (params) => session.send('Runtime.evaluate', params), timeoutMs);
}
