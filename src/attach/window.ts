// attach's window: what is said before it, the countdown, and how it ended (its time, a Ctrl-C, the
// target finishing its work or going away).

import { formatDuration } from '../duration.js';
import { sleep } from '../time.js';
import type { ProfileKind } from '../jobs/job.js';
import { targetName, type Target } from '../target/connect.js';
import type { AttachIO } from './io.js';
import type { PlannedJob } from './plan.js';

/** What the user should know while the window runs (said once, before it starts). */
export function windowNotes(planned: PlannedJob[]): string[] {
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

export function kindLabel(kinds: ProfileKind[]): string {
  return (
    kinds
      .filter((k) => k !== 'heapsnapshot')
      .map((k) => (k === 'cpu' ? 'CPU' : k))
      .join(' + ') || 'waiting'
  );
}

export type WindowEnd = 'done' | 'interrupted' | 'target-exiting' | 'target-ended';

/** Waits for the window to end, a Ctrl-C, the target to finish its work, or to go away; says which. */
/** `ms` is what is left of the window; `askedMs` what the user asked for (said once). */
export async function runWindow(target: Target, ms: number, io: AttachIO, label: string, askedMs = ms): Promise<WindowEnd> {
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
  const windowEnd = new AbortController();
  try {
    return await Promise.race([
      sleep(ms, { signal: windowEnd.signal }).then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      io.interrupted.then(() => 'interrupted' as const),
      // Its work is done and it waits for us to let go: keep what was collected, and let it exit.
      target.session.exiting.then(() => 'target-exiting' as const),
      target.session.ended.then(() => 'target-ended' as const),
    ]);
  } finally {
    clearInterval(tick);
    windowEnd.abort();
    io.progress.stop();
  }
}
