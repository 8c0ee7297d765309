// Waiting in tests: poll the condition a test asserts, never sleep a fixed time before asserting.

import type { ChildProcess } from 'node:child_process';

const POLL_MS = 50;

/**
 * Resolves with the condition's first truthy value (polled every 50 ms; it may be async), or fails
 * after timeoutMs with "timed out after Nms waiting for <what>" and the last error it threw.
 */
export async function waitFor<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`;
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Resolves with the first match of re in what the child has written to stderr since this was
 * called or before (the child's stderr must be piped and not yet consumed elsewhere than by
 * listeners); fails on timeout or when the child exits first, with what it wrote.
 */
export function waitForStderr(child: ChildProcess, re: RegExp, timeoutMs = 20_000, seen: () => string = collected(child)): Promise<RegExpExecArray> {
  return waitForOutput(child, 'stderr', re, timeoutMs, seen, seen);
}

/**
 * The same for either stream, given what was `seen` on it so far (collected by a listener added
 * before this one) and what to `show` when it fails.
 */
export function waitForOutput(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  re: RegExp,
  timeoutMs: number,
  seen: () => string,
  show: () => string,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(seen());
      if (!m) return false;
      done();
      resolve(m);
      return true;
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${stream} did not match ${re} within ${timeoutMs}ms: ${show()}`));
    }, timeoutMs);
    const onExit = () => {
      if (check()) return;
      done();
      reject(new Error(`exited before its ${stream} matched ${re}: ${show()}`));
    };
    const onData = () => void check();
    const done = () => {
      clearTimeout(timer);
      child[stream]!.off('data', onData);
      child.off('close', onExit);
    };
    // 'data' listeners run in order of registration: the collecting one runs first, so the text is there.
    child[stream]!.on('data', onData);
    child.on('close', onExit);
    check();
  });
}

const texts = new WeakMap<ChildProcess, { text: string }>();

/** All of the child's stderr so far, collected from the first call on (call it early: at spawn). */
export function collected(child: ChildProcess): () => string {
  let t = texts.get(child);
  if (!t) {
    const box = { text: '' };
    child.stderr!.on('data', (d) => (box.text += d));
    texts.set(child, box);
    t = box;
  }
  return () => t.text;
}
