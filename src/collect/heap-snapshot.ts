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
  const ended = session.ended.then(() => {
    throw new Error(`the target went away after ${bytes} bytes of the heap snapshot`);
  });
  try {
    await Promise.race([session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }), failure, ended, ...(opts.abort ? [opts.abort] : [])]);
    return { bytes, chunks };
  } finally {
    off();
  }
}
