// The CPU job: Profiler collection, converted to the requested format.

import { loopComments, loopStartLines, loopStopLines } from '../collect/blocked.js';
import { CpuCollector } from '../collect/cpu.js';
import type { Artifact, Format, Job, JobContext } from '../collect/job.js';
import { cpuProfileToPprof } from '../pprof/cpu-profile.js';
import { encodePprof } from '../pprof/encode.js';
import { toCollapsed } from '../output/collapsed.js';
import type { CdpSession } from '../target/session.js';

export const CPU_FORMATS: readonly Format[] = ['pprof', 'cpuprofile', 'collapsed'];

export class CpuJob implements Job {
  readonly kind = 'cpu' as const;
  private readonly collector: CpuCollector;

  constructor(
    intervalUs: number,
    private readonly format: Format,
    opts: { repair?: boolean; log?: (line: string) => void } = {},
  ) {
    // A blocked loop is told as soon as it is known (the window may be long), the rest at the end.
    const log = opts.log;
    this.collector = new CpuCollector(intervalUs, { repair: opts.repair, onLoopReport: log && ((loop) => loopStartLines(loop).forEach(log)) });
  }

  start(session: CdpSession): Promise<void> {
    return this.collector.start(session);
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const rec = await this.collector.stop(ctx.session);
    const samples = rec.profile.samples?.length ?? 0;
    const notes = [`cpu: ${samples} samples over ${((rec.profile.endTime - rec.profile.startTime) / 1e6).toFixed(1)}s`];
    if (rec.loop) notes.push(...loopStopLines(rec.loop));
    if (this.format === 'cpuprofile') {
      return { kind: 'cpu', format: this.format, data: JSON.stringify(rec.profile), notes };
    }
    const comments = rec.loop ? loopComments(rec.loop) : [];
    const profile = cpuProfileToPprof(rec.profile, { intervalUs: rec.intervalUs, startedAtMs: rec.startedAtMs, comments });
    const data = this.format === 'collapsed' ? toCollapsed(profile) : encodePprof(profile);
    return { kind: 'cpu', format: this.format, data, profile, notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}
