// One CPU collection window on its own session (several may run at once: each inspector session
// gets a full profile), with the blocked-loop repair from CDP-NOTES: a frame already running when
// Profiler.start came is invisible to V8's profiler until the debugger steps it once.

import type { Protocol } from 'devtools-protocol';
import type { CdpSession } from '../target/session.js';
import { withTimeout } from '../target/connect.js';
import { sleep } from './sleep.js';

export interface CpuWindow {
  profile: Protocol.Profiler.Profile;
  startedAtMs: number;
  intervalUs: number;
  /** True when the main thread was blocked at the start and the repair ran. */
  repaired: boolean;
}

export async function recordCpu(session: CdpSession, opts: { ms: number; intervalUs: number; canPause: boolean; signal: AbortSignal }): Promise<CpuWindow> {
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: opts.intervalUs });
  const startedAtMs = Date.now();
  await session.send('Profiler.start');
  let running = true;
  try {
    const repaired = opts.canPause ? await repairIfBlocked(session) : false;
    await sleep(opts.ms, opts.signal);
    const { profile } = await session.send('Profiler.stop');
    running = false;
    return { profile, startedAtMs, intervalUs: opts.intervalUs, repaired };
  } finally {
    if (running && !session.isEnded) await session.send('Profiler.stop').catch(() => undefined);
    if (!session.isEnded) await session.send('Profiler.disable').catch(() => undefined);
  }
}

/** An idle or busy event loop runs a setImmediate within a few ms; a blocked one never does. */
async function isBlocked(session: CdpSession): Promise<boolean> {
  try {
    await withTimeout(
      session.send('Runtime.evaluate', { expression: 'new Promise((r) => setImmediate(() => r(1)))', awaitPromise: true, silent: true }),
      200,
      'blocked',
    );
    return false;
  } catch {
    return true;
  }
}

async function repairIfBlocked(session: CdpSession): Promise<boolean> {
  if (!(await isBlocked(session))) return false;
  let waiter: ((v: unknown) => void) | undefined;
  const off = session.on('Debugger.paused', (p) => waiter?.(p));
  const nextPause = () => withTimeout(new Promise((r) => (waiter = r)), 2000, 'no pause');
  try {
    await session.send('Debugger.enable', {});
    let paused = nextPause();
    await session.send('Debugger.pause');
    await paused;
    paused = nextPause();
    await session.send('Debugger.stepOver', {});
    await paused;
    return true;
  } catch {
    return false;
  } finally {
    off();
    // Never leave the target paused or with a pause pending.
    await session.send('Debugger.resume', {}).catch(() => undefined);
    await session.send('Debugger.disable').catch(() => undefined);
  }
}
