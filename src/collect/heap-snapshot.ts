// A full V8 heap snapshot through HeapProfiler.takeHeapSnapshot: V8 serialises it as a stream of
// addHeapSnapshotChunk events, then answers the command. Each chunk is handed to `write` as it
// arrives and dropped, so nodeprof's memory does not grow with the snapshot.
//
// A snapshot cannot be cancelled in the target once asked for: V8 finishes serialising it (the
// target's JavaScript is paused meanwhile); chunks for a closed session are simply dropped.

import type { CdpSession } from '../target/session.js';

export interface SnapshotStreamOptions {
  /** Called for every chunk, in order; may throw (disk full) to abandon the stream. */
  write(chunk: string): void;
  /** Called after each chunk with the running byte count (UTF-8 length of the chunks). */
  onProgress?(bytes: number): void;
  /** Called while V8 builds the snapshot graph, before the first chunk (it can take a while). */
  onBuildProgress?(done: number, total: number): void;
  /** Rejecting this abandons the stream with its reason (Ctrl-C). */
  abort?: Promise<never>;
}

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
  const offBuild = session.on('HeapProfiler.reportHeapSnapshotProgress', ({ done, total }) => opts.onBuildProgress?.(done, total));
  const wentAway = () => new Error(`the target went away after ${bytes} bytes of the heap snapshot`);
  const ended = session.ended.then(() => {
    throw wentAway();
  });
  // The pending command may fail first ("WebSocket connection closed") when the target dies.
  const taken = session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: opts.onBuildProgress !== undefined }).catch(async (err: unknown) => {
    await new Promise((r) => setTimeout(r, 50));
    throw session.isEnded || /closed/i.test(String((err as Error)?.message)) ? wentAway() : err;
  });
  try {
    await Promise.race([taken, failure, ended, ...(opts.abort ? [opts.abort] : [])]);
    return { bytes, chunks };
  } finally {
    off();
    offBuild();
  }
}
