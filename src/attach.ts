// `nodeprof attach`: open the target, run every requested job in one window, stop them (early on
// Ctrl-C), leave the target clean, then write each artifact where it belongs.

import type { Artifact, Format, Job, ProfileKind } from './collect/job.js';
import { EXIT_INTERRUPTED, NodeprofError, UsageError, errorMessage } from './errors.js';
import { formatDuration } from './duration.js';
import { CpuJob, CPU_FORMATS } from './jobs/cpu.js';
import { HeapJob, HEAP_FORMATS } from './jobs/heap.js';
import { HeapSnapshotJob, HEAP_SNAPSHOT_FORMATS } from './jobs/heap-snapshot.js';
import { TraceJob, TRACE_FORMATS } from './jobs/trace.js';
import { traceCategories } from './collect/trace.js';
import { CpuThreadsJob } from './jobs/cpu-threads.js';
import { CpuCollector } from './collect/cpu.js';
import { DEFAULT_HEAP_INTERVAL_BYTES } from './collect/heap-sampling.js';
import { chooseDestinations, defaultFileName, fileNameId, keepInTemp, writeFileKeeping, writeToStdout, type Destination } from './output/destination.js';
import { topTable } from './output/top.js';
import { profileTextForTerminal } from './output/terminal-text.js';
import { openTarget, targetName, withTimeout, type Target } from './target/connect.js';
import type { ResolveOptions } from './target/pid.js';
import { formatHostPort, type TargetSpec } from './target/target-spec.js';

export interface AttachPlan {
  target: TargetSpec;
  cpu?: { durationMs: number };
  /** --heap: in-use heap, sampled over the window (windowMs from --heap-window, else see planJobs). */
  heap?: { windowMs?: number };
  allocs?: { durationMs: number };
  /** Heap sampling interval, bytes (--heap-interval). */
  heapIntervalBytes?: number;
  heapSnapshot?: boolean;
  trace?: { durationMs: number; categories: string[] };
  /** CPU sampling interval, µs. */
  intervalUs: number;
  /** Deoptimize once after Profiler.start so V8 22+ re-logs hot loop code (see collect/jit-reset.ts). */
  jitReset?: boolean;
  format?: Format;
  output?: string;
  top: boolean;
  open: boolean;
  /** Map frames through source maps (default true). */
  sourceMaps?: boolean;
  /** pid targets: leave an inspector that nodeprof opened open. */
  keepInspector?: boolean;
  /** Also profile worker threads (NodeWorker); samples carry a thread label. */
  workers?: boolean;
  /** Pause a target whose event loop is blocked at attach so running frames are attributed (default on). */
  repair?: boolean;
}

export interface Progress {
  start(text: string): void;
  update(text: string): void;
  stop(): void;
}

export interface AttachIO {
  stdoutIsTTY: boolean;
  progress: Progress;
  /** One line to the user on stderr. */
  log(line: string): void;
  /** Writes the --top table (stdout unless a profile goes there). */
  printTop(text: string, profileOnStdout: boolean): void;
  /** Settles on the first Ctrl-C / SIGTERM. */
  interrupted: Promise<void>;
  /** Registers what to do, quickly, before exiting on a second Ctrl-C. */
  setAbortHook(hook: (() => Promise<void>) | undefined): void;
  /** Runs go tool pprof -http on a file (--open). */
  openInPprof(file: string): Promise<void>;
}

/** How long stopping may take before nodeprof gives up on a target that does not answer. */
const STOP_TIMEOUT_MS = 30_000;

interface PlannedJob {
  job: Job;
  format: Format;
  durationMs: number;
}

function pickFormat(kind: ProfileKind, allowed: readonly Format[], wanted: Format | undefined): Format {
  if (!wanted) return allowed[0]!;
  if (!allowed.includes(wanted)) {
    throw new UsageError(`--format ${wanted} does not apply to --${kind}: use one of ${allowed.join(', ')}`);
  }
  return wanted;
}

/** --heap's window when it is alone and --heap-window is not given. */
export const DEFAULT_HEAP_WINDOW_MS = 10_000;

/**
 * Kinds with one format of their own (heapsnapshot, trace) ignore a --format meant for the other
 * kinds of the same run; alone, a --format that does not fit them is a usage error.
 */
function pickOwnFormat(kind: ProfileKind, allowed: readonly Format[], wanted: Format | undefined, alone: boolean): Format {
  return alone || (wanted && allowed.includes(wanted)) ? pickFormat(kind, allowed, wanted) : allowed[0]!;
}

export function planJobs(plan: AttachPlan, log?: (line: string) => void): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (plan.cpu) {
    const format = pickFormat('cpu', CPU_FORMATS, plan.format);
    const job = plan.workers
      ? new CpuThreadsJob(format, () => new CpuCollector(plan.intervalUs, { jitReset: plan.jitReset, repair: plan.repair }), { sourceMaps: plan.sourceMaps })
      : new CpuJob(plan.intervalUs, format, { jitReset: plan.jitReset, sourceMaps: plan.sourceMaps, repair: plan.repair, log });
    jobs.push({ job, format, durationMs: plan.cpu.durationMs });
  }
  if (plan.heap && plan.allocs) {
    throw new UsageError(
      '--heap and --allocs cannot share one window: V8 has one heap sampler per process, recording either live objects or all allocations; run them one after the other',
    );
  }
  const intervalBytes = plan.heapIntervalBytes ?? DEFAULT_HEAP_INTERVAL_BYTES;
  if (plan.allocs) {
    const format = pickFormat('allocs', HEAP_FORMATS, plan.format);
    jobs.push({ job: new HeapJob('allocs', intervalBytes, format, { sourceMaps: plan.sourceMaps }), format, durationMs: plan.allocs.durationMs });
  }
  if (plan.trace) {
    const alone = !plan.cpu && !plan.heap && !plan.allocs && !plan.heapSnapshot;
    const format = pickOwnFormat('trace', TRACE_FORMATS, plan.format, alone);
    jobs.push({ job: new TraceJob(plan.trace.categories), format, durationMs: plan.trace.durationMs });
  }
  if (plan.heap) {
    // --heap has no duration of its own: --heap-window, else the longest other window, else 10s.
    const others = jobs.map((j) => j.durationMs);
    const durationMs = plan.heap.windowMs ?? (others.length > 0 ? Math.max(...others) : DEFAULT_HEAP_WINDOW_MS);
    const format = pickFormat('heap', HEAP_FORMATS, plan.format);
    jobs.push({ job: new HeapJob('heap', intervalBytes, format, { sourceMaps: plan.sourceMaps }), format, durationMs });
  }
  if (plan.heapSnapshot) {
    // Taken once, at the end of the window, after the other kinds have stopped.
    const format = pickOwnFormat('heapsnapshot', HEAP_SNAPSHOT_FORMATS, plan.format, jobs.length === 0);
    jobs.push({ job: new HeapSnapshotJob(), format, durationMs: 0 });
  }
  if (jobs.length === 0) {
    throw new UsageError('nothing to collect: give --cpu <duration> (e.g. --cpu 30s), --heap, --allocs <duration>, --heap-snapshot or --trace <duration>');
  }
  return jobs;
}

/** `--list-categories`: the trace categories the target offers. */
export async function listTraceCategories(spec: TargetSpec): Promise<string[]> {
  const target = await openTarget(spec);
  try {
    return await withTimeout(traceCategories(target.session), 5000, `${target.where} did not answer NodeTracing.getCategories within 5s`);
  } finally {
    await target.release();
  }
}

/** What the user should know while the window runs (said once, before it starts). */
function windowNotes(planned: PlannedJob[]): string[] {
  const notes: string[] = [];
  for (const p of planned) {
    if (p.job.kind === 'heap') {
      notes.push(
        `heap: sampling allocations from now for ${formatDuration(p.durationMs)}; the profile shows those still live at the end (objects allocated before now are not seen)`,
      );
    }
    if (p.job.kind === 'allocs') notes.push(`allocs: sampling every allocation from now for ${formatDuration(p.durationMs)}`);
  }
  return notes;
}

function kindLabel(kinds: ProfileKind[]): string {
  return (
    kinds
      .filter((k) => k !== 'heapsnapshot')
      .map((k) => (k === 'cpu' ? 'CPU' : k))
      .join(' + ') || 'waiting'
  );
}

type WindowEnd = 'done' | 'interrupted' | 'target-exiting' | 'target-ended';

/** Waits for the window to end, a Ctrl-C, the target to finish its work, or to go away; says which. */
async function runWindow(target: Target, ms: number, io: AttachIO, label: string, askedMs = ms): Promise<WindowEnd> {
  const started = Date.now();
  const render = () => {
    const left = Math.max(0, ms - (Date.now() - started));
    io.progress.update(`${label} of ${targetName(target.where, target.info.pid)}: ${formatDuration(Math.ceil(left / 1000) * 1000)} left, Ctrl-C to stop early`);
  };
  // A snapshot alone has no window: nothing to announce before it starts.
  if (askedMs > 0)
    io.log(
      `collecting ${label} from ${targetName(target.where, target.info.pid)} for ${formatDuration(askedMs)}; Ctrl-C to stop early and keep what was collected`,
    );
  io.progress.start('');
  render();
  const tick = setInterval(render, 1000);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<'done'>((resolve) => {
        timer = setTimeout(() => resolve('done'), ms);
      }),
      io.interrupted.then(() => 'interrupted' as const),
      // Its work is done and it waits for us to let go: keep what was collected, and let it exit.
      target.session.exiting.then(() => 'target-exiting' as const),
      target.session.ended.then(() => 'target-ended' as const),
    ]);
  } finally {
    clearInterval(tick);
    clearTimeout(timer);
    io.progress.stop();
  }
}

/**
 * openTarget, given up on a Ctrl-C: nothing is collected yet, so there is nothing to keep (exit
 * 130). Its own bounds (4-10 s) are too long to wait out; whatever the open still sets up (a
 * session, a pid's inspector) is released if it settles within a moment.
 */
async function openUnlessInterrupted(spec: TargetSpec, opts: ResolveOptions, interrupted: Promise<void>): Promise<Target> {
  const opening = openTarget(spec, opts);
  const first = await Promise.race([opening, interrupted.then(() => undefined)]);
  if (first) return first;
  const released = opening.then(
    (t) => t.release(),
    () => undefined,
  );
  await Promise.race([released, new Promise((r) => setTimeout(r, 1000).unref())]);
  const where = spec.kind === 'address' ? formatHostPort(spec.host, spec.port) : spec.text;
  throw new NodeprofError(`interrupted while connecting to ${where}: nothing was collected`, EXIT_INTERRUPTED);
}

export async function runAttach(plan: AttachPlan, io: AttachIO): Promise<number> {
  const planned = planJobs(plan, io.log);
  const windowMs = Math.max(...planned.map((p) => p.durationMs));
  const target = await openUnlessInterrupted(plan.target, { keepInspector: plan.keepInspector, log: io.log }, io.interrupted);
  // File names never come from the target's own strings (it may set process.pid to '../../x').
  const nameId = fileNameId(plan.target, target.info.pid);
  let destinations: Map<ProfileKind, Destination>;
  try {
    // Chosen before collecting: a streamed kind (heap snapshot) writes while it is collected.
    destinations = await chooseDestinations(
      planned.map((p) => ({ kind: p.job.kind, format: p.format })),
      { output: plan.output, stdoutIsTTY: io.stdoutIsTTY, needFile: plan.open },
      nameId,
    );
  } catch (err) {
    await target.release();
    throw err;
  }
  const started: PlannedJob[] = [];
  const cleanupAll = async () => {
    await Promise.all(started.map((p) => withTimeout(p.job.cleanup(target.session), 2000, 'cleanup timed out').catch(() => undefined)));
  };
  io.setAbortHook(async () => {
    await cleanupAll();
    await target.release();
  });

  const artifacts: Artifact[] = [];
  let failureStatus = 0;
  let stopReason: WindowEnd;
  const startedAtMs = Date.now();
  try {
    for (const p of planned) {
      // Listed before start returns: a start can take a while (the blocked-loop repair), and an abort
      // meanwhile must still clean it up.
      started.push(p);
      await p.job.start(target.session, target.info);
    }
    for (const n of windowNotes(planned)) io.log(n);
    // `--cpu N` is N seconds from the start: the profiler's own start-up (seconds on a large heap) counts.
    const windowLeftMs = windowMs > 0 ? Math.max(0, windowMs - (Date.now() - startedAtMs)) : 0;
    stopReason = await runWindow(target, windowLeftMs, io, kindLabel(planned.map((p) => p.job.kind)), windowMs);
    if (stopReason === 'target-ended') {
      throw new NodeprofError(
        `lost target ${targetName(target.where, target.info.pid, true)} after ${formatDuration(Date.now() - startedAtMs)}: it exited, closed its inspector or the connection dropped; V8 keeps a profile inside the target until it is stopped, so nothing could be kept`,
      );
    }
    if (stopReason === 'interrupted') {
      io.log(`stopped early after ${formatDuration(Date.now() - startedAtMs)}: writing what was collected`);
    }
    if (stopReason === 'target-exiting') {
      io.log(`pid ${target.info.pid} finished its work and is exiting after ${formatDuration(Date.now() - startedAtMs)}: writing what was collected`);
    }
    const early = stopReason === 'interrupted' || stopReason === 'target-exiting';
    let spinning = false;
    const ctx = {
      session: target.session,
      startedAtMs,
      stoppedEarly: early,
      // A Ctrl-C that ended the window asked to stop collecting, not to drop a snapshot that follows.
      interrupted: stopReason === 'interrupted' ? undefined : io.interrupted,
      log: io.log,
      progress: (text: string) => {
        if (!spinning) io.progress.start(text);
        else io.progress.update(text);
        spinning = true;
      },
    };
    // A target blocked outside JavaScript (a long native call) answers nothing until it returns:
    // say so, and give up after a bound instead of hanging. The snapshot is exempt: a large one
    // legitimately takes minutes, and it bounds its own start.
    const stopTimeoutMs = Number(process.env.NODEPROF_STOP_TIMEOUT_MS) || STOP_TIMEOUT_MS;
    const slow = setTimeout(
      () =>
        io.log(
          `waiting for pid ${target.info.pid} to hand over the profile: it is not answering, probably blocked in native code (giving up after ${formatDuration(stopTimeoutMs)}; Ctrl-C again to abort)`,
        ),
      2000,
    );
    const giveUp = new Promise<never>((_, reject) => {
      const t = setTimeout(
        () => reject(new Error(`the target did not answer within ${formatDuration(stopTimeoutMs)} (blocked outside JavaScript?)`)),
        stopTimeoutMs,
      );
      t.unref();
    });
    giveUp.catch(() => undefined);
    // The target went away: the job's own error (which may say more) wins if it comes at once.
    const gone = () =>
      target.session.ended
        .then(() => new Promise((r) => setTimeout(r, 100)))
        .then(() => Promise.reject(new Error('the target went away while the profile was being read')));
    const stopOne = (p: PlannedJob, bounded: boolean) =>
      Promise.race([p.job.stop({ ...ctx, destination: destinations.get(p.job.kind) }), gone(), ...(bounded ? [giveUp] : [])]);
    // The snapshot comes last, once the other kinds are stopped, so it does not distort them.
    const late = (p: PlannedJob) => p.job.kind === 'heapsnapshot';
    const results = await Promise.allSettled(planned.filter((p) => !late(p)).map((p) => stopOne(p, true)));
    clearTimeout(slow);
    results.push(...(await Promise.allSettled(planned.filter(late).map((p) => stopOne(p, false)))));
    if (spinning) io.progress.stop();
    const order = [...planned.filter((p) => !late(p)), ...planned.filter(late)];
    const failures: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') artifacts.push(r.value);
      else {
        failures.push(`${order[i]!.job.kind}: ${errorMessage(r.reason)}`);
        failureStatus = Math.max(failureStatus, r.reason instanceof NodeprofError ? r.reason.exitCode : 1);
      }
    });
    if (artifacts.length === 0) {
      // A write failure (disk full) is its own sentence; anything else failed to read the profile.
      const reading = failures.some((f) => !/^\w+: cannot write /.test(f));
      throw new NodeprofError(`${reading ? `could not read the profile from ${target.where}: ` : ''}${failures.join('; ')}`, failureStatus);
    }
    // The kinds that were read are still written; the run fails for the one that was not.
    for (const f of failures) io.log(`error: ${f}`);
  } finally {
    await cleanupAll();
    await target.release();
    io.setAbortHook(undefined);
  }

  return Math.max(failureStatus, await writeArtifacts(artifacts, destinations, plan, io, nameId));
}

async function writeArtifacts(
  artifacts: Artifact[],
  destinations: Map<ProfileKind, Destination>,
  plan: AttachPlan,
  io: AttachIO,
  nameId: string,
): Promise<number> {
  let status = 0;
  const written = new Map<Artifact, string>();
  for (const a of artifacts) {
    for (const n of a.notes) io.log(n);
    const dest: Destination = destinations.get(a.kind)!;
    if (a.data !== null) {
      if (dest.type === 'stdout') {
        try {
          await writeToStdout(io.stdoutIsTTY && typeof a.data === 'string' ? profileTextForTerminal(a.data, a.format) : a.data);
        } catch (err) {
          // A full disk or a closed pipe: the profile is kept in the temp directory if it can be.
          const kept = await keepInTemp(defaultFileName(a.kind, nameId, a.format, new Date()), a.data);
          if (!kept) throw err;
          io.log(`error: ${errorMessage(err)}; the profile was kept in ${kept}`);
          status = 1;
          written.set(a, kept);
          io.log(hint(a, kept));
        }
      } else {
        const res = await writeFileKeeping(dest.path, a.data, io.log);
        if (res.warning) {
          io.log(`error: ${res.warning}`);
          status = 1;
        }
        written.set(a, res.path);
        io.log(hint(a, res.path));
      }
    } else if (a.writtenTo) {
      written.set(a, a.writtenTo);
      io.log(hint(a, a.writtenTo));
    }
    if (plan.top && a.pprof) io.printTop(topTable(a.pprof()), destinations.get(a.kind)?.type === 'stdout');
  }
  if (plan.open) {
    const pprofFile = artifacts.find((a) => a.format === 'pprof' && written.has(a));
    const file = pprofFile && written.get(pprofFile);
    if (file) await io.openInPprof(file);
    else io.log('--open: nothing written in pprof format to open');
  }
  return status;
}

function hint(a: Artifact, file: string): string {
  switch (a.format) {
    case 'pprof':
      return `wrote ${file}: open it with  go tool pprof -http=: ${file}`;
    case 'cpuprofile':
    case 'heapprofile':
      return `wrote ${file}: open it in Chrome DevTools (Performance/Memory tab) or https://www.speedscope.app`;
    case 'collapsed':
      return `wrote ${file}: render it with flamegraph.pl ${file} > flame.svg, or open it in speedscope`;
    case 'heapsnapshot':
      return `wrote ${file}: load it in Chrome DevTools, Memory tab`;
    case 'trace':
      return `wrote ${file}: open it in https://ui.perfetto.dev or chrome://tracing`;
  }
}
