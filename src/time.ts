// Waiting, on node:timers/promises: a pause, a value after a while (the fallback side of a race),
// and a promise with a deadline. A wait given a signal ends when it aborts; one given `unref`
// does not keep the process alive by itself.

import { setTimeout as timeout } from 'node:timers/promises';
import { NodeprofError } from './errors.js';

export interface WaitOptions {
  /** Ends the wait early: sleep() then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Lets the process exit while the wait is pending. */
  unref?: boolean;
}

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
export async function sleep(ms: number, opts: WaitOptions = {}): Promise<void> {
  const { signal, unref = false } = opts;
  if (signal?.aborted) throw signal.reason;
  try {
    await timeout(ms, undefined, { signal, ref: !unref });
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}

/** `value` after `ms`: the side of a race that says "not yet". */
export function after<T>(ms: number, value: T, opts: { unref?: boolean } = {}): Promise<T> {
  return timeout(ms, value, { ref: !opts.unref });
}

/**
 * `p`, or a rejection after `ms`: with a NodeprofError of `message`, or the error it makes. The
 * timer is cleared when `p` settles first.
 */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string | (() => Error), opts: { unref?: boolean } = {}): Promise<T> {
  const cancel = new AbortController();
  const expired = timeout(ms, undefined, { signal: cancel.signal, ref: !opts.unref }).then(
    () => {
      throw typeof message === 'string' ? new NodeprofError(message) : message();
    },
    () => undefined as never, // cancelled: p settled first
  );
  try {
    return await Promise.race([p, expired]);
  } finally {
    cancel.abort();
  }
}
