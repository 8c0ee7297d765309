// `nodeprof attach`: open the target, run every requested job in one window, stop them (early on
// Ctrl-C), leave the target clean, then write each artifact where it belongs. The parts: plan.ts
// (flags to jobs), window.ts, stop.ts; the writing is output/write.ts.

import type { ProfileKind } from '../jobs/job.js';
import { EXIT_INTERRUPTED, NodeprofError } from '../errors.js';
import { formatDuration } from '../duration.js';
import { traceCategories } from '../collect/trace.js';
import { chooseDestinations, fileNameId, type Destination } from '../output/destination.js';
import { writeArtifacts } from '../output/write.js';
import { openTarget, targetName, type Target } from '../target/connect.js';
import { sleep, withTimeout } from '../time.js';
import type { ResolveOptions } from '../target/pid.js';
import { formatHostPort, type TargetSpec } from '../target/target-spec.js';
import type { AttachIO } from './io.js';
import { planJobs, type AttachPlan, type PlannedJob } from './plan.js';
import { stopJobs, type Stopped } from './stop.js';
import { kindLabel, runWindow, windowNotes, type WindowEnd } from './window.js';

/** The planning alone, for usage errors before connecting (cli/attach.ts). */
export { planJobs } from './plan.js';

/** `--list-categories`: the trace categories the target offers. */
export async function listTraceCategories(spec: TargetSpec): Promise<string[]> {
  const target = await openTarget(spec);
  try {
    return await withTimeout(traceCategories(target.session), 5000, `${target.where} did not answer NodeTracing.getCategories within 5s`);
  } finally {
    await target.release();
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
  await Promise.race([released, sleep(1000, { unref: true })]);
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

  let stopped: Stopped;
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
    stopped = await stopJobs(target, planned, destinations, io, { startedAtMs, end: stopReason });
  } finally {
    await cleanupAll();
    await target.release();
    io.setAbortHook(undefined);
  }

  return Math.max(stopped.failureStatus, await writeArtifacts(stopped.artifacts, destinations, { ...io, top: plan.top, open: plan.open, nameId }));
}
