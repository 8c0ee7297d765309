// attach's stop: every job stopped at once (the heap snapshot last, so it does not distort the
// others), each bounded by the target going away, and all but the snapshot by a timeout for a
// target blocked outside JavaScript. What was read is kept even when another kind failed.

import { NodeprofError, errorMessage } from '../errors.js';
import { formatDuration } from '../duration.js';
import { settings } from '../settings.js';
import { after, sleep } from '../time.js';
import type { Artifact, ProfileKind } from '../jobs/job.js';
import type { Destination } from '../output/destination.js';
import type { Target } from '../target/connect.js';
import type { AttachIO } from './io.js';
import type { PlannedJob } from './plan.js';
import type { WindowEnd } from './window.js';

/** How long stopping may take before nodeprof gives up on a target that does not answer. */
const STOP_TIMEOUT_MS = 30_000;

export interface Stopped {
  artifacts: Artifact[];
  /** The exit status the kinds that failed earn (0 when none did). */
  failureStatus: number;
}

/** Stops every job; throws when not one artifact could be read. */
export async function stopJobs(
  target: Target,
  planned: PlannedJob[],
  destinations: Map<ProfileKind, Destination>,
  io: AttachIO,
  window: { startedAtMs: number; end: WindowEnd },
): Promise<Stopped> {
  const { startedAtMs, end: stopReason } = window;
  const artifacts: Artifact[] = [];
  let failureStatus = 0;
  const early = stopReason === 'interrupted' || stopReason === 'target-exiting';
  let spinning = false;
  const ctx = {
    session: target.session,
    target: `pid ${target.info.pid} (${target.where})`,
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
  const stopTimeoutMs = settings().stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const slow = setTimeout(
    () =>
      io.log(
        `waiting for pid ${target.info.pid} to hand over the profile: it is not answering, probably blocked in native code (giving up after ${formatDuration(stopTimeoutMs)}; Ctrl-C again to abort)`,
      ),
    2000,
  );
  const giveUp = after(stopTimeoutMs, undefined, { unref: true }).then(() =>
    Promise.reject(new Error(`the target did not answer within ${formatDuration(stopTimeoutMs)} (blocked outside JavaScript?)`)),
  );
  giveUp.catch(() => undefined);
  // The target went away: the job's own error (which may say more) wins if it comes at once.
  const gone = () => target.session.ended.then(() => sleep(100)).then(() => Promise.reject(new Error('the target went away while the profile was being read')));
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
  return { artifacts, failureStatus };
}
