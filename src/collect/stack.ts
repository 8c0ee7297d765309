// The current JavaScript stack of one thread, from Debugger.pause (it names the running frame even
// when the CPU profiler cannot). The thread is paused only between the `paused` event and our
// resume; every wait is bounded; a pause that has not landed is cancelled by Debugger.disable
// before we leave, so the target is never left paused or with a pause pending.

import type { Protocol } from 'devtools-protocol';
import { NodeprofError, errorMessage } from '../errors.js';
import type { CdpSession } from '../target/session.js';
import { sleep } from '../time.js';

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
