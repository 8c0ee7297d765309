// The current JavaScript stack of one thread, read two ways:
// - captureStack (`nodeprof stack`), by Debugger.pause: it names the running frame even when the
//   CPU profiler cannot. The thread is paused only between the `paused` event and our resume; every
//   wait is bounded; a pause that has not landed is cancelled by Debugger.disable before we leave,
//   so the target is never left paused or with a pause pending.
// - stackWithoutPause (serve's goroutine), by Runtime.evaluate, WITHOUT pausing: an evaluate is
//   served on an interrupt when JavaScript is running, on top of the running frames, so an Error
//   stack captured by the evaluated code contains the interrupted frames below its own, also while
//   the thread spins in a loop. An idle event loop has no frames under it. A pause gives the same
//   stack but stops the thread far longer (bench/RESULTS.md, "Other costs": goroutine endpoint,
//   blocked-loop repair) and risks leaving it paused; scrapers fetch goroutine every 15 s.

import type { Protocol } from 'devtools-protocol';
import { NodeprofError, errorMessage } from '../errors.js';
import { scriptPath, functionName, type Frame } from '../pprof/frame.js';
import type { CdpSession } from '../target/session.js';
import { sleep, withTimeout } from '../time.js';

/**
 * One thread's stack at one moment. F is the frame as its reader gives it: StackFrame (CDP's
 * positions, for source maps and `stack --json`) from captureStack, Frame from stackWithoutPause.
 */
export interface ThreadStack<F> {
  thread: string;
  /** Leaf first; empty when the event loop was idle or there is no stack (then `error`). */
  frames: F[];
  /** Why there is no stack for this thread (it did not answer in time, or went away). */
  error?: string;
}

export interface StackFrame {
  functionName: string;
  url: string;
  /** 0-based, as CDP gives them. */
  lineNumber: number;
  columnNumber: number;
  scriptId?: string;
}

export interface StackCapture {
  frames: StackFrame[];
  /** How long the thread stood paused, from the paused event to the answer to our resume. */
  pausedMs: number;
}

export class PauseTimeout extends NodeprofError {}

export async function captureStack(session: CdpSession, timeoutMs: number): Promise<StackCapture> {
  const urls = new Map<string, string>();
  let finished = false;
  let onPaused!: (e: Protocol.Debugger.PausedEvent) => void;
  const paused = new Promise<Protocol.Debugger.PausedEvent>((resolve) => (onPaused = resolve));
  const offScript = session.on('Debugger.scriptParsed', (e) => urls.set(e.scriptId, e.url));
  // Stays subscribed until the end: a pause that lands after we gave up is resumed at once.
  const offPaused = session.on('Debugger.paused', (e) => {
    if (finished) void session.send('Debugger.resume').catch(() => undefined);
    else onPaused(e);
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PauseTimeout(
            `the thread did not pause within ${timeoutMs / 1000}s: it is probably blocked in native code (a synchronous fs, crypto or child_process call) and runs no JavaScript; try again, or give a longer --timeout`,
          ),
        ),
      timeoutMs,
    );
  });
  const gone = session.ended.then(() => Promise.reject(new NodeprofError('the target went away while its stack was being taken')));
  try {
    await Promise.race([session.send('Debugger.enable', {}), deadline, gone]);
    await Promise.race([session.send('Debugger.pause'), deadline, gone]);
    const event = await Promise.race([paused, deadline, gone]);
    const pausedAt = Date.now();
    const frames = event.callFrames.map((cf) => ({
      functionName: cf.functionName,
      url: cf.url || urls.get(cf.location.scriptId) || '',
      lineNumber: cf.location.lineNumber,
      columnNumber: cf.location.columnNumber ?? 0,
      scriptId: cf.location.scriptId,
    }));
    finished = true;
    await Promise.race([session.send('Debugger.resume'), deadline, gone]);
    return { frames, pausedMs: Date.now() - pausedAt };
  } finally {
    finished = true;
    clearTimeout(timer);
    // Disabling the debugger resumes a paused thread and drops a pause request that has not landed.
    if (!session.isEnded) {
      await Promise.race([session.send('Debugger.disable').catch((err: unknown) => errorMessage(err)), sleep(2000, { unref: true })]);
    }
    offScript();
    void offPaused;
  }
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

const NO_ANSWER = 'no answer in time: busy outside JavaScript';

/** The stack of one thread, by an evaluate sent to it (directly, or through NodeWorker). */
export async function stackWithoutPause(thread: string, evaluate: Evaluate, timeoutMs = 2000): Promise<ThreadStack<Frame>> {
  let value: unknown;
  try {
    const res = await withTimeout(evaluate({ expression: EXPRESSION, returnByValue: true, silent: true }), timeoutMs, NO_ANSWER);
    value = res.result.value;
  } catch (err) {
    if ((err as Error).message === NO_ANSWER) return { thread, frames: [], error: NO_ANSWER };
    throw err;
  }
  if (typeof value !== 'string') return { thread, frames: [] };
  const raw = JSON.parse(value) as Array<[string, string, number, number]>;
  // The evaluated script's own top-level frame has no file name: drop it (and any like it on top).
  let start = 0;
  while (start < raw.length && raw[start]![1] === '') start++;
  const frames = raw.slice(start).map(([name, url, line, column]): Frame => {
    const file = scriptPath(url);
    return { name: functionName(name, file, line), file, line, column, startLine: 0 };
  });
  return { thread, frames };
}

export function mainStackWithoutPause(session: CdpSession, timeoutMs = 2000): Promise<ThreadStack<Frame>> {
  return stackWithoutPause('main', (params) => session.send('Runtime.evaluate', params), timeoutMs);
}
