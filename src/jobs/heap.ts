// The --heap and --allocs jobs: V8's sampling heap profiler, converted to pprof or kept as V8 JSON.
//
// --heap samples from the start of the window and runs a full GC before reading, so what it shows
// is "sampled allocations made during the window that are still live at its end". It cannot see
// objects allocated before nodeprof attached: V8's sampler only records allocations after it
// starts. --allocs keeps samples of objects the GC already freed: everything allocated in the window.

import { formatsFor, writerFor } from '../output/writers/index.js';
import type { Artifact, Format, Job, JobContext } from './job.js';
import { HeapSamplingCollector } from '../collect/heap-sampling.js';
import { formatDuration } from '../duration.js';
import { formatBytes } from '../size.js';
import type { ProcessInfo } from '../target/connect.js';
import { freedSamplesDropped, keepsCollectedHeapSamples } from '../target/features.js';
import type { CdpSession } from '../target/session.js';
import { loadOnce } from './load-once.js';

/** The conversion side, loaded once the sampler runs (see CpuJob's). */
const conversion = loadOnce(async () => {
  const [sourceMaps, heapProfile, encode] = await Promise.all([
    import('../collect/source-map-loader.js'),
    import('../pprof/heap-profile.js'),
    import('../pprof/encode.js'),
  ]);
  return { ...sourceMaps, ...heapProfile, ...encode };
});

export const HEAP_FORMATS: readonly Format[] = formatsFor('heap');

export class HeapJob implements Job {
  private readonly collector: HeapSamplingCollector;
  /** Set for --allocs on a target whose V8 drops freed objects' samples (Node 18): said once, the profile still written. */
  private oldNodeWarning: string | undefined;

  constructor(
    readonly kind: 'heap' | 'allocs',
    private readonly intervalBytes: number,
    private readonly format: Format,
    private readonly opts: { sourceMaps?: boolean } = {},
  ) {
    const inuse = kind === 'heap';
    this.collector = new HeapSamplingCollector({ intervalBytes, includeCollected: !inuse, gcBeforeRead: inuse });
  }

  async start(session: CdpSession, info?: ProcessInfo): Promise<void> {
    if (this.kind === 'allocs' && info && !keepsCollectedHeapSamples(info.nodeVersion)) {
      this.oldNodeWarning = `warning: allocs: ${freedSamplesDropped(info.nodeVersion)}: the profile shows only allocations still live at the end of the window`;
    }
    await this.collector.start(session);
    if (this.format !== 'heapprofile') conversion.prefetch();
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const rec = await this.collector.stop(ctx.session);
    const windowText = formatDuration(rec.stoppedAtMs - rec.startedAtMs);
    const what =
      this.kind === 'heap'
        ? `sampled allocations made in the ${windowText} window and still live at its end (after a full GC); objects allocated before the window are not seen`
        : this.oldNodeWarning
          ? `sampled allocations made in the ${windowText} window and still live at its end (this target's V8 drops freed objects' samples)`
          : `sampled allocations made in the ${windowText} window, including objects already freed`;
    const samples = rec.profile.samples?.length ?? 0;
    const bytes = (rec.profile.samples ?? []).reduce((a, s) => a + s.size, 0);
    const notes = [`${this.kind}: ${formatBytes(bytes)} in ${samples} samples (interval ${formatBytes(rec.intervalBytes)}): ${what}`];
    if (this.oldNodeWarning) notes.push(this.oldNodeWarning);
    if (this.format === 'heapprofile') {
      return { kind: this.kind, format: this.format, data: JSON.stringify(rec.profile), notes };
    }
    const { sourceMapsForHeapProfile, heapProfileToBuilder, gzipPprof } = await conversion.load();
    // Only the scripts in this profile are looked at; a bad map leaves its script generated, with a warning.
    const maps = this.opts.sourceMaps !== false ? await sourceMapsForHeapProfile(ctx.session, rec.profile) : undefined;
    if (maps) notes.push(...maps.warnings);
    const builder = heapProfileToBuilder(rec.profile, {
      mapFrame: maps?.mapFrame,
      mode: this.kind === 'heap' ? 'inuse' : 'alloc',
      intervalBytes: rec.intervalBytes,
      startedAtMs: rec.startedAtMs,
      durationNanos: (rec.stoppedAtMs - rec.startedAtMs) * 1e6,
      comments: [`nodeprof ${this.kind}: ${what}`, 'objects counts are estimates from V8 sample sizes (V8 reports bytes only)'],
    });
    const render = writerFor(this.format).render;
    const data = render ? await render(builder.build(), { kind: this.kind, target: ctx.target }) : gzipPprof(builder.encode());
    return { kind: this.kind, format: this.format, data, pprof: () => builder.build(), notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}
