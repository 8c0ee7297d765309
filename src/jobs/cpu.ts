// The CPU job: Profiler collection, converted to the requested format.

import { loopComments, loopStartLines, loopStopLines } from '../collect/blocked.js';
import { CpuCollector, clockComments, type CpuRecording } from '../collect/cpu.js';
import type { Artifact, Format, Job, JobContext } from '../collect/job.js';
import type { FrameMapper } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';
import type { Protocol } from 'devtools-protocol';
import { loadOnce } from './lazy.js';

/**
 * The conversion side (source maps, pprof-format, gzip): not needed to start the profiler, so it is
 * loaded once the profiler runs, while the window is open (see start()).
 */
const conversion = loadOnce(async () => {
  const [sourceMaps, cpuProfile, encode, collapsed] = await Promise.all([
    import('../collect/source-maps.js'),
    import('../pprof/cpu-profile.js'),
    import('../pprof/encode.js'),
    import('../output/collapsed.js'),
  ]);
  return { ...sourceMaps, ...cpuProfile, ...encode, ...collapsed };
});

export const CPU_FORMATS: readonly Format[] = ['pprof', 'cpuprofile', 'collapsed'];

export interface CpuJobOptions {
  /** Map frames to original sources through source maps (default true; --no-source-maps). */
  sourceMaps?: boolean;
  /** Deoptimize once after Profiler.start on Node 22+ (default true; --no-jit-reset). */
  jitReset?: boolean;
  /** Pause and step a target whose loop is blocked at attach (default true; --no-repair). */
  repair?: boolean;
  /** Lines for the user as soon as a blocked loop is known. */
  log?: (line: string) => void;
}

export class CpuJob implements Job {
  readonly kind = 'cpu' as const;
  private readonly collector: CpuCollector;

  constructor(
    intervalUs: number,
    private readonly format: Format,
    private readonly opts: CpuJobOptions = {},
  ) {
    // A blocked loop is told as soon as it is known (the window may be long), the rest at the end.
    const log = opts.log;
    this.collector = new CpuCollector(intervalUs, {
      jitReset: opts.jitReset,
      repair: opts.repair,
      onLoopReport: log && ((loop) => loopStartLines(loop).forEach(log)),
    });
  }

  async start(session: CdpSession): Promise<void> {
    await this.collector.start(session);
    if (this.format !== 'cpuprofile') conversion.prefetch();
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const rec = await this.collector.stop(ctx.session);
    const samples = rec.profile.samples?.length ?? 0;
    const notes = [`cpu: ${samples} samples over ${((rec.profile.endTime - rec.profile.startTime) / 1e6).toFixed(1)}s`];
    if (rec.loop) notes.push(...loopStopLines(rec.loop));
    if (this.format === 'cpuprofile') {
      return { kind: 'cpu', format: this.format, data: JSON.stringify(rec.profile), notes };
    }
    const { cpuProfileToBuilderYielding, gzipPprof, toCollapsed } = await conversion.load();
    const mapFrame = this.opts.sourceMaps !== false ? await cpuSourceMaps(ctx.session, rec.profile, notes) : undefined;
    const comments = recordingComments(rec);
    const builder = await cpuProfileToBuilderYielding(rec.profile, {
      intervalUs: rec.intervalUs,
      startedAtMs: rec.startedAtMs,
      mapFrame,
      comments,
      cpuScale: rec.cpuScale,
    });
    const data = this.format === 'collapsed' ? toCollapsed(builder.build()) : gzipPprof(builder.encode());
    return { kind: 'cpu', format: this.format, data, pprof: () => builder.build(), notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}

/**
 * Loads the source maps of the scripts `profile` touches, through `session` (the thread that ran
 * them: script ids are per isolate), adding the user's lines to `notes`.
 */
export async function cpuSourceMaps(session: CdpSession, profile: Protocol.Profiler.Profile, notes: string[], thread?: string): Promise<FrameMapper> {
  const { sourceMapsForCpuProfile } = await conversion.load();
  // After Profiler.stop: only the scripts that appear in this profile are looked at.
  const maps = await sourceMapsForCpuProfile(session, profile);
  notes.push(...maps.warnings);
  if (maps.stats.mapped > 0) {
    const { mapped, scripts, viaDebugger, ms } = maps.stats;
    const how = viaDebugger > 0 ? `, ${viaDebugger} looked up through Debugger.scriptParsed` : '';
    const who = thread ? ` (${thread})` : '';
    notes.push(`source maps${who}: ${mapped} of ${scripts} scripts mapped to their original sources (${ms.toFixed(0)}ms${how})`);
  }
  return maps.mapFrame;
}

/** The profile comments a recording earns: the JIT reset done, and what the event loop was doing at attach. */
export function recordingComments(rec: CpuRecording): string[] {
  return [...(rec.jitReset?.done ? [`nodeprof: ${rec.jitReset.note}`] : []), ...clockComments(rec), ...(rec.loop ? loopComments(rec.loop) : [])];
}
