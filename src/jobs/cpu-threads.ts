// The CPU job with --workers: one Profiler per thread (main and every worker), merged into one
// pprof profile whose samples carry a `thread` label.

import { loopStopLines } from '../collect/blocked.js';
import { CpuCollector } from '../collect/cpu.js';
import { CpuThreadsCollector } from '../collect/cpu-threads.js';
import type { Artifact, Format, Job, JobContext } from '../collect/job.js';
import type { CpuTotals } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';
import { cpuSourceMaps, recordingComments, type CpuJobOptions } from './cpu.js';
import { loadOnce } from './lazy.js';

/** The conversion side, loaded once the profilers run (see CpuJob's). */
const conversion = loadOnce(async () => {
  const [cpuProfile, encode, collapsed] = await Promise.all([
    import('../pprof/cpu-profile.js'),
    import('../pprof/encode.js'),
    import('../output/collapsed.js'),
  ]);
  return { ...cpuProfile, ...encode, ...collapsed };
});

export class CpuThreadsJob implements Job {
  readonly kind = 'cpu' as const;
  private readonly collector: CpuThreadsCollector;

  /** `newCollector` makes the per-thread collector, so every thread is profiled with the same options. */
  constructor(
    private readonly format: Format,
    newCollector: () => CpuCollector,
    private readonly opts: Pick<CpuJobOptions, 'sourceMaps'> = {},
  ) {
    this.collector = new CpuThreadsCollector(newCollector);
  }

  async start(session: CdpSession): Promise<void> {
    await this.collector.start(session);
    if (this.format !== 'cpuprofile') conversion.prefetch();
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const threads = await this.collector.stop(ctx.session);
    const main = threads[0]!.recording;
    const notes = threads.map((t) => `cpu: ${t.thread}: ${t.recording.profile.samples?.length ?? 0} samples`);
    notes.push(...this.collector.notes.map((n) => `cpu: ${n}`));
    if (main.loop) notes.push(...loopStopLines(main.loop));
    if (this.format === 'cpuprofile') {
      // V8's format holds one thread per file, and DevTools reads one file at a time.
      notes.push('cpu: --format cpuprofile holds the main thread only; use pprof or collapsed for every thread');
      return { kind: 'cpu', format: this.format, data: JSON.stringify(main.profile), notes };
    }
    const { addCpuProfileYielding, idleComment, newCpuBuilder, gzipPprof, toCollapsed } = await conversion.load();
    const builder = newCpuBuilder(
      { intervalUs: main.intervalUs, startedAtMs: main.startedAtMs },
      Math.max(0, Math.round((main.profile.endTime - main.profile.startTime) * 1000)),
    );
    const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0 };
    for (const t of threads) {
      const mapFrame = this.opts.sourceMaps !== false ? await cpuSourceMaps(t.session, t.recording.profile, notes, t.thread).catch(() => undefined) : undefined;
      const part = await addCpuProfileYielding(
        builder,
        t.recording.profile,
        {
          intervalUs: t.recording.intervalUs,
          mapFrame,
          // Measured for the main thread only (its tid is the pid); workers keep wall-clock time.
          cpuScale: t === threads[0] ? main.cpuScale : undefined,
        },
        { thread: t.thread },
      );
      totals.samples += part.samples;
      totals.idleSamples += part.idleSamples;
      totals.idleNanos += part.idleNanos;
      totals.cpuNanos += part.cpuNanos;
    }
    for (const c of recordingComments(main)) builder.addComment(c);
    builder.addComment(
      `nodeprof: threads ${threads.map((t) => t.thread).join(', ')}; each sample carries a thread label (go tool pprof -tags, -tagfocus=thread=main)`,
    );
    const idle = idleComment(totals);
    if (idle) builder.addComment(idle);
    const data = this.format === 'collapsed' ? toCollapsed(builder.build()) : gzipPprof(builder.encode());
    return { kind: 'cpu', format: this.format, data, pprof: () => builder.build(), notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}
