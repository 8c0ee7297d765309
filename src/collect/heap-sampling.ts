// V8's sampling heap profiler through HeapProfiler.startSampling/stopSampling; knows CDP, not pprof.
//
// V8 has ONE sampler per isolate: a second session's startSampling appears to succeed, and
// stopping in any session stops it for all. So start() refuses when a sampler is already running
// (someone else's: a nodeprof serve, DevTools) instead of taking it over and stopping it.
// Closing the inspector session stops the sampler in V8 too (observed on Node 18, 20, 22, 24), so a
// nodeprof that dies without cleaning up does not leave one behind.

import type { Protocol } from 'devtools-protocol';
import { NodeprofError } from '../errors.js';
import type { CdpSession } from '../target/session.js';

/** V8's default sampling interval (bytes between samples on average), as node --heap-prof uses. */
export const DEFAULT_HEAP_INTERVAL_BYTES = 512 * 1024;

/**
 * Starts V8's one heap sampler of the isolate. `includeCollected` keeps samples of objects the GC
 * has freed (allocation profiles, whose values must only grow per stack); without it the sampler
 * holds live objects only. Shared by attach's windows and serve's long-lived sampler.
 */
export async function startHeapSampler(session: CdpSession, intervalBytes: number, includeCollected: boolean): Promise<void> {
  await session.send('HeapProfiler.startSampling', {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: includeCollected,
    includeObjectsCollectedByMinorGC: includeCollected,
  });
}

export interface HeapSamplingOptions {
  intervalBytes: number;
  /** true for --allocs: keep samples of objects the GC has already freed. */
  includeCollected: boolean;
  /** Run a full GC before reading (in-use mode), so garbage not yet collected does not count. */
  gcBeforeRead: boolean;
}

export interface HeapRecording {
  profile: Protocol.HeapProfiler.SamplingHeapProfile;
  startedAtMs: number;
  stoppedAtMs: number;
  intervalBytes: number;
}

export class HeapSamplingCollector {
  private running = false;
  private startedAtMs = 0;

  constructor(readonly opts: HeapSamplingOptions) {}

  async start(session: CdpSession): Promise<void> {
    const busy = await session.send('HeapProfiler.getSamplingProfile').then(
      () => true,
      () => false,
    );
    if (busy) {
      throw new NodeprofError(
        "the target's heap sampler is already running (a nodeprof serve, DevTools or another attach?): V8 has one per process and stopping ours would stop theirs; stop it there, or use that tool's heap profile",
      );
    }
    this.startedAtMs = Date.now();
    await startHeapSampler(session, this.opts.intervalBytes, this.opts.includeCollected);
    this.running = true;
  }

  async stop(session: CdpSession): Promise<HeapRecording> {
    if (this.opts.gcBeforeRead) await session.send('HeapProfiler.collectGarbage');
    const { profile } = await session.send('HeapProfiler.stopSampling');
    this.running = false;
    return { profile, startedAtMs: this.startedAtMs, stoppedAtMs: Date.now(), intervalBytes: this.opts.intervalBytes };
  }

  async cleanup(session: CdpSession): Promise<void> {
    if (session.isEnded || !this.running) return;
    this.running = false;
    await session.send('HeapProfiler.stopSampling').catch(() => undefined);
  }
}
