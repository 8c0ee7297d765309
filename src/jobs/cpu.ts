// The CPU job: Profiler collection (main thread, or every thread with --workers), converted to the
// requested format.

import { CpuCollector } from '../collect/cpu.js';
import { CpuThreadsCollector } from '../collect/cpu-threads.js';
import type { Artifact, Format, Job, JobContext } from '../collect/job.js';
import { addCpuProfile, cpuProfileToPprof, idleComment, newCpuBuilder, type CpuTotals } from '../pprof/cpu-profile.js';
import { encodePprof } from '../pprof/encode.js';
import { toCollapsed } from '../output/collapsed.js';
import type { CdpSession } from '../target/session.js';
import type { Profile } from 'pprof-format';

export const CPU_FORMATS: readonly Format[] = ['pprof', 'cpuprofile', 'collapsed'];

export interface CpuJobOptions {
  /** Profile worker threads too; each sample gets a `thread` label. */
  workers?: boolean;
}

export class CpuJob implements Job {
  readonly kind = 'cpu' as const;
  private readonly collector: CpuCollector | CpuThreadsCollector;

  constructor(
    intervalUs: number,
    private readonly format: Format,
    opts: CpuJobOptions = {},
  ) {
    this.collector = opts.workers ? new CpuThreadsCollector(intervalUs) : new CpuCollector(intervalUs);
  }

  start(session: CdpSession): Promise<void> {
    return this.collector.start(session);
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    if (this.collector instanceof CpuThreadsCollector) return this.stopThreads(ctx, this.collector);
    const rec = await this.collector.stop(ctx.session);
    const samples = rec.profile.samples?.length ?? 0;
    const notes = [`cpu: ${samples} samples over ${((rec.profile.endTime - rec.profile.startTime) / 1e6).toFixed(1)}s`];
    if (this.format === 'cpuprofile') {
      return { kind: 'cpu', format: this.format, data: JSON.stringify(rec.profile), notes };
    }
    const profile = cpuProfileToPprof(rec.profile, { intervalUs: rec.intervalUs, startedAtMs: rec.startedAtMs });
    return this.artifact(profile, notes);
  }

  private async stopThreads(ctx: JobContext, collector: CpuThreadsCollector): Promise<Artifact> {
    const threads = await collector.stop(ctx.session);
    const main = threads[0]!.recording;
    const notes = threads.map((t) => `cpu: ${t.thread}: ${t.recording.profile.samples?.length ?? 0} samples`);
    notes.push(...collector.notes.map((n) => `cpu: ${n}`));
    if (this.format === 'cpuprofile') {
      // One V8 profile per thread has no single-file form DevTools reads; keep the main thread's.
      notes.push('cpu: --format cpuprofile holds the main thread only; use pprof or collapsed for every thread');
      return { kind: 'cpu', format: this.format, data: JSON.stringify(main.profile), notes };
    }
    const builder = newCpuBuilder(
      { intervalUs: main.intervalUs, startedAtMs: main.startedAtMs },
      Math.max(0, Math.round((main.profile.endTime - main.profile.startTime) * 1000)),
    );
    const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0 };
    for (const t of threads) {
      const part = addCpuProfile(builder, t.recording.profile, { intervalUs: t.recording.intervalUs }, { thread: t.thread });
      totals.samples += part.samples;
      totals.idleSamples += part.idleSamples;
      totals.idleNanos += part.idleNanos;
      totals.cpuNanos += part.cpuNanos;
    }
    builder.addComment(`nodeprof: threads ${threads.map((t) => t.thread).join(', ')}; each sample carries a thread label (go tool pprof -tags, -tagfocus=thread=main)`);
    const idle = idleComment(totals);
    if (idle) builder.addComment(idle);
    return this.artifact(builder.build(), notes);
  }

  private artifact(profile: Profile, notes: string[]): Artifact {
    const data = this.format === 'collapsed' ? toCollapsed(profile) : encodePprof(profile);
    return { kind: 'cpu', format: this.format, data, profile, notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}
