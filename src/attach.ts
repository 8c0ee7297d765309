// `nodeprof attach`: open the target, run every requested job in one window, stop them (early on
// Ctrl-C), leave the target clean, then write each artifact where it belongs.

import type { Artifact, Format, Job, ProfileKind } from './collect/job.js';
import { NodeprofError, UsageError, errorMessage } from './errors.js';
import { formatDuration } from './duration.js';
import { CpuJob, CPU_FORMATS } from './jobs/cpu.js';
import { chooseDestinations, writeFileKeeping, writeToStdout, type Destination } from './output/destination.js';
import { topTable } from './output/top.js';
import { openTarget, withTimeout, type Target } from './target/connect.js';
import type { TargetSpec } from './target/target-spec.js';

export interface AttachPlan {
  target: TargetSpec;
  cpu?: { durationMs: number };
  /** CPU sampling interval, µs. */
  intervalUs: number;
  format?: Format;
  output?: string;
  top: boolean;
  open: boolean;
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

export function planJobs(plan: AttachPlan, log?: (line: string) => void): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (plan.cpu) {
    const format = pickFormat('cpu', CPU_FORMATS, plan.format);
    jobs.push({ job: new CpuJob(plan.intervalUs, format, { repair: plan.repair, log }), format, durationMs: plan.cpu.durationMs });
  }
  if (jobs.length === 0) throw new UsageError('nothing to collect: give --cpu <duration> (e.g. --cpu 30s)');
  return jobs;
}

function kindLabel(kinds: ProfileKind[]): string {
  return kinds.map((k) => (k === 'cpu' ? 'CPU' : k)).join(' + ');
}

/** Waits for the window to end, a Ctrl-C, or the target to go away; says which. */
async function runWindow(target: Target, ms: number, io: AttachIO, label: string): Promise<'done' | 'interrupted' | 'target-ended'> {
  const started = Date.now();
  const render = () => {
    const left = Math.max(0, ms - (Date.now() - started));
    io.progress.update(`${label} of pid ${target.info.pid} (${target.where}): ${formatDuration(Math.ceil(left / 1000) * 1000)} left, Ctrl-C to stop early`);
  };
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
      target.session.ended.then(() => 'target-ended' as const),
    ]);
  } finally {
    clearInterval(tick);
    clearTimeout(timer);
    io.progress.stop();
  }
}

export async function runAttach(plan: AttachPlan, io: AttachIO): Promise<number> {
  const planned = planJobs(plan, io.log);
  const windowMs = Math.max(...planned.map((p) => p.durationMs));
  const target = await openTarget(plan.target);
  const started: PlannedJob[] = [];
  const cleanupAll = async () => {
    await Promise.all(started.map((p) => withTimeout(p.job.cleanup(target.session), 2000, 'cleanup timed out').catch(() => undefined)));
  };
  io.setAbortHook(async () => {
    await cleanupAll();
    await target.release();
  });

  let artifacts: Artifact[] = [];
  let stopReason: 'done' | 'interrupted' | 'target-ended';
  const startedAtMs = Date.now();
  try {
    for (const p of planned) {
      // Listed before start returns: a start can take a while (the blocked-loop repair), and an abort
      // meanwhile must still clean it up.
      started.push(p);
      await p.job.start(target.session);
    }
    stopReason = await runWindow(target, windowMs, io, kindLabel(planned.map((p) => p.job.kind)));
    if (stopReason === 'target-ended') {
      throw new NodeprofError(
        `target ${target.where} (pid ${target.info.pid}) exited or closed its inspector after ${formatDuration(Date.now() - startedAtMs)}, before the profile was taken: V8 keeps a profile inside the target until it is stopped, so nothing could be kept`,
      );
    }
    if (stopReason === 'interrupted') {
      io.log(`stopped early after ${formatDuration(Date.now() - startedAtMs)}: writing what was collected`);
    }
    const ctx = { session: target.session, startedAtMs, stoppedEarly: stopReason === 'interrupted' };
    const results = await Promise.allSettled(
      planned.map((p) => Promise.race([p.job.stop(ctx), target.session.ended.then(() => Promise.reject(new Error('the target went away while the profile was being read')))])),
    );
    const failures: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') artifacts.push(r.value);
      else failures.push(`${planned[i]!.job.kind}: ${errorMessage(r.reason)}`);
    });
    if (artifacts.length === 0) {
      throw new NodeprofError(`could not read the profile from ${target.where}: ${failures.join('; ')}`);
    }
    for (const f of failures) io.log(`warning: ${f}`);
  } finally {
    await cleanupAll();
    await target.release();
    io.setAbortHook(undefined);
  }

  return writeArtifacts(artifacts, plan, io, target.info.pid);
}

async function writeArtifacts(artifacts: Artifact[], plan: AttachPlan, io: AttachIO, pid: number): Promise<number> {
  const destinations = await chooseDestinations(
    artifacts.map((a) => ({ kind: a.kind, format: a.format })),
    { output: plan.output, stdoutIsTTY: io.stdoutIsTTY, needFile: plan.open },
    pid,
  );
  let status = 0;
  const written = new Map<Artifact, string>();
  for (const a of artifacts) {
    for (const n of a.notes) io.log(n);
    const dest: Destination = destinations.get(a.kind)!;
    if (a.data !== null) {
      if (dest.type === 'stdout') {
        await writeToStdout(a.data);
      } else {
        const res = await writeFileKeeping(dest.path, a.data);
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
    if (plan.top && a.profile) io.printTop(topTable(a.profile), destinations.get(a.kind)?.type === 'stdout');
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
