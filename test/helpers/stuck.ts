// The stuck-server fixture: a target whose event loop a request blocks before nodeprof attaches.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startTarget, type RunningTarget } from './processes.js';

export interface StuckServer extends RunningTarget {
  httpPort: number;
  /** Sends GET path (not awaited by the caller until it wants the answer); rejects on network error. */
  request(path: string, timeoutMs?: number): Promise<string>;
  /** Sends GET path and resolves once the handler has started (the loop is blocked from then on). */
  block(path: string): Promise<{ answer: Promise<string> }>;
}

export async function startStuckServer(env?: NodeJS.ProcessEnv): Promise<StuckServer> {
  const t = await startTarget('stuck-server.js', { env });
  const httpPort = Number(/http (\d+)/.exec(t.stdout())![1]);
  const request = async (path: string, timeoutMs = 60_000) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.text();
  };
  const block = async (path: string) => {
    const before = (t.stdout().match(/spinning|waiting/g) ?? []).length;
    const answer = request(path);
    answer.catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while ((t.stdout().match(/spinning|waiting/g) ?? []).length === before) {
      if (Date.now() > deadline) throw new Error(`the fixture did not start ${path}: ${t.stdout()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { answer };
  };
  return { ...t, httpPort, request, block };
}

export function commentsOf(p: { comment: Array<number | bigint>; stringTable: { strings: string[] } }): string[] {
  return p.comment.map((i) => p.stringTable.strings[Number(i)]!);
}

/**
 * Puts a fixtures/native-block.js target into a long native call (a blocking read of a FIFO: no
 * inspector message is served meanwhile) and out of it again. The FIFO lives in `dir`, which the
 * caller owns and removes.
 */
export function nativeBlocker(target: RunningTarget, dir: string): { block(): Promise<void>; unblock(): Promise<void> } {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  return {
    async block() {
      target.proc.stdin!.write(`block ${fifo}\n`);
      await target.waitForStdout(/blocking/);
      await sleepingInFifoOpen(target.pid);
    },
    async unblock() {
      // Opening the FIFO for writing completes the target's blocked read.
      fs.writeFileSync(fifo, 'go');
      await target.waitForStdout(/unblocked/);
    },
  };
}

/**
 * Resolves once the process's main thread sleeps in the kernel waiting for the FIFO's writer
 * (Linux: /proc/<pid>/wchan says wait_for_partner). The fixture prints "blocking" just before its
 * read: descheduled in between, it still ran some JavaScript after the test had seen the line, and
 * answered a Profiler.stop the test meant it to ignore (3 runs in 27 with two test files at once,
 * and once in CI; with 300 ms of JavaScript put between the line and the read, every run).
 * Where /proc cannot tell, a fixed wait.
 */
async function sleepingInFifoOpen(pid: number, timeoutMs = 10_000): Promise<void> {
  const wchan = `/proc/${pid}/wchan`;
  if (!fs.existsSync(wchan)) return new Promise((r) => setTimeout(r, 500));
  const deadline = Date.now() + timeoutMs;
  while (fs.readFileSync(wchan, 'utf8').trim() !== 'wait_for_partner') {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not block in the FIFO's open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
