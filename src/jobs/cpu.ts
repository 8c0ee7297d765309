// The CPU job: Profiler collection over a list of threads (the main thread alone, or with --workers
// every worker thread too, merged into one profile whose samples carry a `thread` label), converted
// to the requested format. Every thread gets the same treatment: the JIT reset and the blocked-loop
// check when it starts, its own source maps (script ids are per isolate), and its comments.

import { CpuThreadsCollector } from '../collect/cpu-threads.js';
import type { CpuRecording } from '../collect/cpu.js';
import { loopStartLines, loopStopLines, recordingComments } from '../output/recording-notes.js';
import type { CpuTotals, FrameMapper } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';
import type { Protocol } from 'devtools-protocol';
import { formatsFor, writerFor } from '../output/writers/index.js';
import type { Artifact, Format, Job, JobContext } from './job.js';
import { loadOnce } from './load-once.js';

/**
 * The conversion side (source maps, pprof-format, gzip): not needed to start the profiler, so it is
 * loaded once the profiler runs, while the window is open (see start()).
 */
const conversion = loadOnce(async () => {
  const [sourceMaps, cpuProfile, encode] = await Promise.all([
    import('../collect/source-map-loader.js'),
    import('../pprof/cpu-profile.js'),
    import('../pprof/encode.js'),
  ]);
  return { ...sourceMaps, ...cpuProfile, ...encode };
});

export const CPU_FORMATS: readonly Format[] = formatsFor('cpu');

export interface CpuJobOptions {
  /** Map frames to original sources through source maps (default true; --no-source-maps). */
  sourceMaps?: boolean;
  /** Deoptimize once after Profiler.start on Node 22+ (default true; --no-jit-reset). */
  jitReset?: boolean;
  /** Pause and step a target whose loop is blocked at attach (default true; --no-repair). */
  repair?: boolean;
  /** Also profile every worker thread (--workers); samples then carry a thread label. */
  workers?: boolean;
  /** Lines for the user as soon as the main thread's loop is known to be blocked. */
  log?: (line: string) => void;
}

export class CpuJob implements Job {
  readonly kind = 'cpu' as const;
  private readonly collector: CpuThreadsCollector;

  constructor(
    intervalUs: number,
    private readonly format: Format,
    private readonly opts: CpuJobOptions = {},
  ) {
    // A blocked loop is told as soon as it is known (the window may be long), the rest at the end.
    const log = opts.log;
    this.collector = new CpuThreadsCollector(intervalUs, {
      jitReset: opts.jitReset,
      repair: opts.repair,
      workers: opts.workers,
      onLoopReport: log && ((loop) => loopStartLines(loop).forEach(log)),
    });
  }

  async start(session: CdpSession): Promise<void> {
    await this.collector.start(session);
    if (this.format !== 'cpuprofile') conversion.prefetch();
  }

  async stop(ctx: JobContext): Promise<Artifact> {
    const threads = await this.collector.stop(ctx.session);
    const workers = this.opts.workers === true;
    const main = threads[0]!.recording;
    const notes = workers
      ? [...threads.map((t) => `cpu: ${t.thread}: ${sampleCount(t.recording)} samples`), ...this.collector.notes.map((n) => `cpu: ${n}`)]
      : [`cpu: ${sampleCount(main)} samples over ${((main.profile.endTime - main.profile.startTime) / 1e6).toFixed(1)}s`];
    if (main.loop) notes.push(...loopStopLines(main.loop));
    if (this.format === 'cpuprofile') {
      // V8's format holds one thread per file, and DevTools reads one file at a time.
      if (workers) notes.push('cpu: --format cpuprofile holds the main thread only; use pprof or collapsed for every thread');
      return { kind: 'cpu', format: this.format, data: JSON.stringify(main.profile), notes };
    }
    const { addCpuProfileYielding, idleComment, newCpuBuilder, gzipPprof } = await conversion.load();
    const builder = newCpuBuilder(
      { intervalUs: main.intervalUs, startedAtMs: main.startedAtMs },
      Math.max(0, Math.round((main.profile.endTime - main.profile.startTime) * 1000)),
    );
    const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0 };
    const comments: string[] = [];
    for (const [i, t] of threads.entries()) {
      // Labels and per-thread words only when there are threads to tell apart.
      const thread = workers ? t.thread : undefined;
      const mapFrame = this.opts.sourceMaps !== false ? await cpuSourceMaps(t.session, t.recording.profile, notes, thread) : undefined;
      const part = await addCpuProfileYielding(
        builder,
        t.recording.profile,
        {
          intervalUs: t.recording.intervalUs,
          mapFrame,
          // Measured for the main thread only (its tid is the pid); workers keep wall-clock time.
          cpuScale: i === 0 ? t.recording.cpuScale : undefined,
        },
        thread === undefined ? undefined : { thread },
      );
      totals.samples += part.samples;
      totals.idleSamples += part.idleSamples;
      totals.idleNanos += part.idleNanos;
      totals.cpuNanos += part.cpuNanos;
      comments.push(...recordingComments(t.recording, i === 0 ? undefined : thread));
    }
    if (workers) {
      comments.push(
        `nodeprof: threads ${threads.map((t) => t.thread).join(', ')}; each sample carries a thread label (go tool pprof -tags, -tagfocus=thread=main)`,
      );
    }
    const idle = idleComment(totals);
    if (idle) comments.push(idle);
    for (const c of comments) builder.addComment(c);
    // pprof is written from the builder's own tables; the other formats are made from its model.
    const render = writerFor(this.format).render;
    const data = render ? await render(builder.build(), { kind: 'cpu', target: ctx.target }) : gzipPprof(builder.encode());
    return { kind: 'cpu', format: this.format, data, pprof: () => builder.build(), notes };
  }

  cleanup(session: CdpSession): Promise<void> {
    return this.collector.cleanup(session);
  }
}

const sampleCount = (rec: CpuRecording) => rec.profile.samples?.length ?? 0;

/**
 * Loads the source maps of the scripts `profile` touches, through `session` (the thread that ran
 * them: script ids are per isolate), adding the user's lines to `notes`. A thread whose maps cannot
 * be read (a worker gone meanwhile) keeps its generated frames.
 */
async function cpuSourceMaps(session: CdpSession, profile: Protocol.Profiler.Profile, notes: string[], thread?: string): Promise<FrameMapper | undefined> {
  const { sourceMapsForCpuProfile } = await conversion.load();
  // After Profiler.stop: only the scripts that appear in this profile are looked at.
  const maps = await sourceMapsForCpuProfile(session, profile).catch(() => undefined);
  if (!maps) return undefined;
  notes.push(...maps.warnings);
  if (maps.stats.mapped > 0) {
    const { mapped, scripts, viaDebugger, ms } = maps.stats;
    const how = viaDebugger > 0 ? `, ${viaDebugger} looked up through Debugger.scriptParsed` : '';
    const who = thread ? ` (${thread})` : '';
    notes.push(`source maps${who}: ${mapped} of ${scripts} scripts mapped to their original sources (${ms.toFixed(0)}ms${how})`);
  }
  return maps.mapFrame;
}
