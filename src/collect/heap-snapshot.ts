// A full V8 heap snapshot through HeapProfiler.takeHeapSnapshot: V8 serialises it as a stream of
// addHeapSnapshotChunk events, then answers the command. Each chunk is handed to `write` as it
// arrives and dropped, so nodeprof's memory does not grow with the snapshot.
//
// A snapshot cannot be cancelled in the target once asked for: V8 finishes serialising it (the
// target's JavaScript is paused meanwhile); chunks for a closed session are simply dropped.

import type { CdpSession } from '../target/session.js';
import { sleep } from '../time.js';
import { settings } from '../settings.js';

export interface SnapshotStreamOptions {
  /** Called for every chunk, in order; may throw (disk full) to abandon the stream. */
  write(chunk: string): void;
  /** Called after each chunk with the running byte count (UTF-8 length of the chunks). */
  onProgress?(bytes: number): void;
  /** Called while V8 builds the snapshot graph, before the first chunk (it can take a while). */
  onBuildProgress?(done: number, total: number): void;
  /** Rejecting this abandons the stream with its reason (Ctrl-C). */
  abort?: Promise<never>;
  /**
   * Give up when the target has sent nothing of the snapshot (no build progress, no chunk) this
   * long after the request: a target blocked outside JavaScript never starts it. Default 30 s
   * (NODEPROF_STOP_TIMEOUT_MS). Once it has started there is no bound: V8 can go quiet for many
   * seconds while building a big snapshot (bench/RESULTS.md), and Ctrl-C stops it.
   */
  startTimeoutMs?: number;
}

export const SNAPSHOT_START_TIMEOUT_MS = 30_000;

export async function streamHeapSnapshot(session: CdpSession, opts: SnapshotStreamOptions): Promise<{ bytes: number; chunks: number }> {
  let bytes = 0;
  let chunks = 0;
  let failed: unknown;
  let fail!: (err: unknown) => void;
  const failure = new Promise<never>((_, reject) => (fail = reject));
  const off = session.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
    if (failed !== undefined) return;
    try {
      opts.write(chunk);
      bytes += Buffer.byteLength(chunk);
      chunks++;
      opts.onProgress?.(bytes);
    } catch (err) {
      failed = err;
      fail(err);
    }
  });
  const startMs = opts.startTimeoutMs ?? settings().stopTimeoutMs ?? SNAPSHOT_START_TIMEOUT_MS;
  let heard = false;
  let startTimer: NodeJS.Timeout | undefined;
  const notStarted = new Promise<never>((_, reject) => {
    startTimer = setTimeout(() => {
      if (!heard) reject(new Error(`the target did not start the heap snapshot within ${Math.round(startMs / 1000)}s (blocked outside JavaScript?)`));
    }, startMs);
  });
  const offHeard = session.on('HeapProfiler.addHeapSnapshotChunk', () => (heard = true));
  const offBuild = session.on('HeapProfiler.reportHeapSnapshotProgress', ({ done, total }) => {
    heard = true;
    opts.onBuildProgress?.(done, total);
  });
  const wentAway = () => new Error(`the target went away after ${bytes} bytes of the heap snapshot`);
  const ended = session.ended.then(() => {
    throw wentAway();
  });
  // The pending command may fail first ("WebSocket connection closed") when the target dies.
  const taken = session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: true }).catch(async (err: unknown) => {
    await sleep(50);
    throw session.isEnded || /closed/i.test(String((err as Error)?.message)) ? wentAway() : err;
  });
  try {
    await Promise.race([taken, failure, ended, notStarted, ...(opts.abort ? [opts.abort] : [])]);
    return { bytes, chunks };
  } finally {
    clearTimeout(startTimer);
    off();
    offHeard();
    offBuild();
  }
}
