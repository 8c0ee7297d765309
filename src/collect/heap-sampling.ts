// V8's sampling heap profiler (HeapProfiler.startSampling), in its two uses: attach's window
// (HeapSamplingCollector: start, stop and read once) and serve's continuous sampler (HeapSampler:
// started on attach, read by every /heap and /allocs, stopped on shutdown). Knows CDP, not pprof.
//
// V8 has ONE sampler per isolate: a second session's startSampling appears to succeed, and
// stopping in any session stops it for all. So the window refuses when a sampler is already
// running (someone else's: a nodeprof serve, DevTools) instead of taking it over and stopping it,
// and the continuous sampler starts itself again when someone else stopped it.
// Closing the inspector session stops the sampler in V8 too (observed on Node 18, 20, 22, 24), so a
// nodeprof that dies without cleaning up does not leave one behind.

import type { Protocol } from 'devtools-protocol';
import { NodeprofError } from '../errors.js';
import type { HeapMode } from '../pprof/heap-profile.js';
import type { CdpSession } from '../target/session.js';

/** V8's default sampling interval (bytes between samples on average), as node --heap-prof uses. */
export const DEFAULT_HEAP_INTERVAL_BYTES = 512 * 1024;
/**
 * serve reads the sampler from the target at most once a minute by default (HeapSampler's
 * maxAgeMs): each read is a full GC in the target. Go's heap profile is likewise as of the last
 * completed GC, not of the request.
 */
export const HEAP_READ_INTERVAL_MS = 60_000;

/**
 * Starts V8's one heap sampler of the isolate. `includeCollected` keeps samples of objects the GC
 * has freed (allocation profiles, whose values must only grow per stack); without it the sampler
 * holds live objects only.
 */
async function startHeapSampler(session: CdpSession, intervalBytes: number, includeCollected: boolean): Promise<void> {
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

/** attach's window: one start, one stop that reads the profile. */
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

/**
 * serve's continuous sampler: started when serve attaches, read by /heap and /allocs without
 * disturbing each other, restarted if someone else stops it, stopped on shutdown.
 */
export class HeapSampler {
  startedAtMs = 0;
  /** The last profile read from the target, and when (epoch ms). */
  private last: { atMs: number; profile: Protocol.HeapProfiler.SamplingHeapProfile } | undefined;

  constructor(
    readonly mode: HeapMode,
    readonly intervalBytes: number,
    /**
     * A read younger than this answers the next one. Every HeapProfiler.getSamplingProfile is a
     * full mark-compact GC in the target (the inspector starts V8's sampler with kSamplingForceGC,
     * and no CDP parameter turns it off): a scraper asking every few seconds would pay one each
     * time. 0: every read goes to the target.
     */
    readonly maxAgeMs = 0,
  ) {}

  /** How old the profile the last read() answered is, ms (0: read just now). */
  ageMs(): number {
    return this.last ? Math.max(0, Date.now() - this.last.atMs) : 0;
  }

  async start(session: CdpSession): Promise<void> {
    await session.send('HeapProfiler.enable');
    // alloc mode keeps samples of collected objects too, so alloc_* only ever grows per stack.
    await startHeapSampler(session, this.intervalBytes, this.mode === 'alloc');
    this.startedAtMs = Date.now();
  }

  /** Set when the sampler had to be restarted because someone else stopped it. */
  restarts = 0;

  /** The read in flight, if any (read()). */
  private pending: { gc: boolean; read: Promise<Protocol.HeapProfiler.SamplingHeapProfile> } | undefined;

  /**
   * The sampler's profile, one read at a time: a call made while a read is unanswered gets that
   * read's answer (unless it asks for a GC the pending read does not do: then it waits for it and
   * reads after). So a target stuck in a long native call is sent at most two reads however many
   * requests come meanwhile, rather than a backlog of reads (and full GCs) to run when it returns.
   */
  read(session: CdpSession, gc: boolean, fresh = false): Promise<Protocol.HeapProfiler.SamplingHeapProfile> {
    const last = this.last;
    if (!gc && !fresh && last && Date.now() - last.atMs < this.keepMs(last)) return Promise.resolve(last.profile);
    const pending = this.pending;
    if (pending && (pending.gc || !gc)) return pending.read;
    const read = (pending ? pending.read.catch(() => undefined) : Promise.resolve()).then(() => this.readNow(session));
    const entry = { gc, read };
    this.pending = entry;
    read
      .finally(() => {
        if (this.pending === entry) this.pending = undefined;
      })
      .catch(() => undefined);
    return read;
  }

  /**
   * How long a read answers later requests. One without samples (the sampler is young, or the app
   * allocates little) only for as long as the sampler had run when it was read: soon after attach a
   * request reads again within a second or two, and an idle app is read (a full GC) at most once per
   * maxAgeMs after a while rather than at every scrape.
   */
  private keepMs(last: { atMs: number; profile: Protocol.HeapProfiler.SamplingHeapProfile }): number {
    if ((last.profile.samples?.length ?? 0) > 0) return this.maxAgeMs;
    return Math.min(this.maxAgeMs, Math.max(0, last.atMs - this.startedAtMs));
  }

  private async readNow(session: CdpSession): Promise<Protocol.HeapProfiler.SamplingHeapProfile> {
    // No HeapProfiler.collectGarbage for `gc`: every getSamplingProfile already runs a full GC
    // before it reads (kSamplingForceGC; seen with --trace-gc on Node 18, 20 and 22), and a second
    // one would only double the pause.
    let profile: Protocol.HeapProfiler.SamplingHeapProfile;
    try {
      profile = (await session.send('HeapProfiler.getSamplingProfile')).profile;
    } catch (err) {
      // V8 has one sampler per isolate: another client (a second serve, attach --heap) may have
      // stopped ours. Start it again; its values start over.
      if (!/not started/i.test((err as Error).message)) throw err;
      await this.start(session);
      this.restarts++;
      profile = (await session.send('HeapProfiler.getSamplingProfile')).profile;
    }
    this.last = { atMs: Date.now(), profile };
    return profile;
  }

  async stop(session: CdpSession): Promise<void> {
    if (session.isEnded) return;
    await session.send('HeapProfiler.stopSampling').catch(() => undefined);
    await session.send('HeapProfiler.disable').catch(() => undefined);
  }
}
