// The serve's one sampling heap profiler (V8 has one per isolate): started when serve attaches,
// read by /heap and /allocs without disturbing each other, restarted if someone else stops it,
// stopped on shutdown. attach's windowed sampler is collect/heap-sampling.ts; both start V8's
// sampler through its startHeapSampler. Knows CDP, not pprof.

import type { Protocol } from 'devtools-protocol';
import type { HeapMode } from '../pprof/heap-profile.js';
import type { CdpSession } from '../target/session.js';
import { startHeapSampler } from '../collect/heap-sampling.js';

export { DEFAULT_HEAP_INTERVAL_BYTES } from '../collect/heap-sampling.js';

export class HeapSampler {
  startedAtMs = 0;

  constructor(
    readonly mode: HeapMode,
    readonly intervalBytes: number,
  ) {}

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
  read(session: CdpSession, gc: boolean): Promise<Protocol.HeapProfiler.SamplingHeapProfile> {
    const pending = this.pending;
    if (pending && (pending.gc || !gc)) return pending.read;
    const read = (pending ? pending.read.catch(() => undefined) : Promise.resolve()).then(() => this.readNow(session, gc));
    const entry = { gc, read };
    this.pending = entry;
    read
      .finally(() => {
        if (this.pending === entry) this.pending = undefined;
      })
      .catch(() => undefined);
    return read;
  }

  private async readNow(session: CdpSession, gc: boolean): Promise<Protocol.HeapProfiler.SamplingHeapProfile> {
    if (gc) await session.send('HeapProfiler.collectGarbage');
    try {
      return (await session.send('HeapProfiler.getSamplingProfile')).profile;
    } catch (err) {
      // V8 has one sampler per isolate: another client (a second serve, attach --heap) may have
      // stopped ours. Start it again; its values start over.
      if (!/not started/i.test((err as Error).message)) throw err;
      await this.start(session);
      this.restarts++;
      return (await session.send('HeapProfiler.getSamplingProfile')).profile;
    }
  }

  async stop(session: CdpSession): Promise<void> {
    if (session.isEnded) return;
    await session.send('HeapProfiler.stopSampling').catch(() => undefined);
    await session.send('HeapProfiler.disable').catch(() => undefined);
  }
}
