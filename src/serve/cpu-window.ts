// One CPU collection window on its own session (several may run at once: each inspector session
// gets a full profile), through the same CpuCollector as `attach`: the Node 22+ JIT reset, and the
// blocked-loop check and repair (a frame already running when Profiler.start came is invisible to
// V8's profiler until the debugger steps it once).

import type { Protocol } from 'devtools-protocol';
import { CpuCollector } from '../collect/cpu.js';
import { recordingComments } from '../output/recording-notes.js';
import type { CpuScale, FrameMapper } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';
import { sleep } from '../time.js';

export interface CpuWindow {
  profile: Protocol.Profiler.Profile;
  startedAtMs: number;
  intervalUs: number;
  /** pprof comments: what was done to the target to get a truthful profile. */
  comments: string[];
  /** Maps frames to original sources (added by the facade after the window). */
  mapFrame?: FrameMapper;
  /** Scales busy samples to the main thread's measured CPU time (collect/thread-cpu.ts). */
  cpuScale?: CpuScale;
}

export async function recordCpu(
  session: CdpSession,
  opts: { ms: number; intervalUs: number; canPause: boolean; jitReset?: boolean; signal: AbortSignal },
): Promise<CpuWindow> {
  // Pausing the thread that serves this request would deadlock it: no repair in the same thread.
  const collector = new CpuCollector(opts.intervalUs, { repair: opts.canPause, jitReset: opts.jitReset });
  // `seconds=N` is N seconds from the request: the profiler's start (seconds on a large heap) counts.
  const endsAtMs = Date.now() + opts.ms;
  try {
    await collector.start(session);
    // A target that finished its work waits for us before it can exit: answer with what it has.
    await Promise.race([sleep(Math.max(0, endsAtMs - Date.now()), { signal: opts.signal }), session.exiting]);
    const rec = await collector.stop(session);
    return { profile: rec.profile, startedAtMs: rec.startedAtMs, intervalUs: rec.intervalUs, comments: recordingComments(rec), cpuScale: rec.cpuScale };
  } finally {
    await collector.cleanup(session);
  }
}

/**
 * How many CPU windows (inspector sessions, each with its own V8 profiler thread sampling the main
 * thread) run at once per target. Further requests share a running window or get a 503 at once.
 * Why 2: each window is one more SIGPROF per sampling interval on the target's main thread and a
 * thread of its own; the cost grows faster than the count and 40 froze the target (bench P6b,
 * bench/RESULTS.md).
 */
export const MAX_CPU_WINDOWS = 2;

/** A shared window may end this much before the request would have (a tenth of it, at most 1 s). */
const graceMs = (ms: number) => Math.min(1000, ms / 10);
/** A window that ends at most this long after a request would is shared rather than a new one started. */
const SHARE_LATE_MS = 1000;

interface Running {
  startedAtMs: number;
  /** The sampling interval (µs): a window is shared only by requests at its rate. */
  intervalUs: number | undefined;
  endsAtMs: number;
  result: Promise<CpuWindow>;
  /** Requests waiting for this window; when the last one leaves, the window stops. */
  users: number;
  stop: AbortController;
}

export class CpuBusyError extends Error {
  constructor(
    readonly running: number,
    readonly retryAfterS: number,
  ) {
    super(
      `${running} CPU profile window${running === 1 ? ' is' : 's are'} already running (the most nodeprof runs at once on a target) and none covers the seconds asked for: try again in ${retryAfterS}s`,
    );
  }
}

/**
 * The CPU windows of one target: at most `max` at once, each on a session of its own. A request
 * whose window fits inside a running one shares it, and gets the part of its profile from when the
 * request came, answered when that window ends: at once if it ends within 1 s of the request's
 * own end, else only when no new window can start, and only if it ends within the request's own
 * length after it (a 5 s request never waits out most of a 300 s one). Otherwise the request starts
 * a window while fewer than `max` run, or fails at once with CpuBusyError (a 503 with Retry-After).
 */
export class CpuWindows {
  private readonly running = new Set<Running>();

  constructor(
    readonly max: number,
    private readonly record: (ms: number, signal: AbortSignal, intervalUs?: number) => Promise<CpuWindow>,
  ) {}

  get count(): number {
    return this.running.size;
  }

  /**
   * intervalUs: the sampling interval asked for (undefined: the facade's). V8 sets it per session
   * before Profiler.start and keeps it until the stop, so only a window at that rate is shared.
   */
  async take(ms: number, client: AbortSignal, intervalUs?: number): Promise<CpuWindow> {
    client.throwIfAborted();
    const now = Date.now();
    const wantEnd = now + ms;
    // A window fits if it covers this request's seconds (but a little) and ends soon enough after
    // them that the answer comes at most twice as late as its own window would (or 1 s).
    // A window every client left is being stopped (it keeps its slot until its session closes):
    // one that shared it would get the stop instead of a profile.
    const fits = [...this.running]
      .filter(
        (w) =>
          !w.stop.signal.aborted &&
          w.intervalUs === intervalUs &&
          w.startedAtMs <= now &&
          w.endsAtMs >= wantEnd - graceMs(ms) &&
          w.endsAtMs <= wantEnd + Math.max(SHARE_LATE_MS, ms),
      )
      .sort((a, b) => a.endsAtMs - b.endsAtMs);
    // A window ending about when this request would: share it (no cost to the target). Otherwise
    // a window of its own while there is room, so a short request is not held up by a long one.
    let w = fits.find((x) => x.endsAtMs <= wantEnd + SHARE_LATE_MS);
    if (!w && this.running.size < this.max) w = this.start(ms, now, intervalUs);
    w ??= fits[0];
    if (!w) {
      const soonest = Math.min(...[...this.running].map((x) => x.endsAtMs));
      throw new CpuBusyError(this.running.size, Math.max(1, Math.ceil((soonest - now) / 1000) + 1));
    }
    const win = w;
    win.users++;
    let onAbort: () => void = () => undefined;
    const left = new Promise<never>((_, reject) => {
      onAbort = () => reject(client.reason);
      client.addEventListener('abort', onAbort, { once: true });
    });
    left.catch(() => undefined);
    try {
      const whole = await Promise.race([win.result, left]);
      return win.startedAtMs === now && win.endsAtMs === wantEnd ? whole : cutWindow(whole, now, wantEnd);
    } finally {
      client.removeEventListener('abort', onAbort);
      if (--win.users === 0) win.stop.abort(new Error('every client of the window went away'));
    }
  }

  private start(ms: number, now: number, intervalUs: number | undefined): Running {
    const stop = new AbortController();
    const w: Running = { startedAtMs: now, endsAtMs: now + ms, intervalUs, users: 0, stop, result: Promise.resolve(undefined as never) };
    // Counted before record() runs: a record() that fails at once must not delete it before it is added.
    this.running.add(w);
    w.result = (async () => {
      try {
        return await this.record(ms, stop.signal, intervalUs);
      } finally {
        this.running.delete(w);
      }
    })();
    w.result.catch(() => undefined);
    return w;
  }
}

/** The part of a window's profile from fromMs to toMs (epoch ms), as a profile of its own (copied). */
export function cutWindow(w: CpuWindow, fromMs: number, toMs: number): CpuWindow {
  const p = w.profile;
  // The profile's clock is V8's (µs); startedAtMs is ours, read just before Profiler.start.
  const from = p.startTime + Math.max(0, fromMs - w.startedAtMs) * 1000;
  const to = Math.min(p.endTime, p.startTime + (toMs - w.startedAtMs) * 1000);
  const samples: number[] = [];
  const deltas: number[] = [];
  const hits = new Map<number, number>();
  let t = p.startTime;
  let last = from;
  const all = p.samples ?? [];
  const td = p.timeDeltas ?? [];
  for (let i = 0; i < all.length; i++) {
    t += td[i] ?? 0;
    if (t < from) continue;
    if (t > to) break;
    samples.push(all[i]!);
    deltas.push(Math.max(0, t - last));
    last = t;
    hits.set(all[i]!, (hits.get(all[i]!) ?? 0) + 1);
  }
  const startTime = Math.max(p.startTime, from);
  const profile = {
    ...p,
    nodes: p.nodes.map((n) => ({ ...n, hitCount: hits.get(n.id) ?? 0 })),
    startTime,
    endTime: Math.max(startTime, to),
    samples,
    timeDeltas: deltas,
  };
  return {
    ...w,
    profile,
    startedAtMs: w.startedAtMs + (startTime - p.startTime) / 1000,
    comments: [
      ...w.comments,
      `nodeprof: this request shared a CPU window started ${((fromMs - w.startedAtMs) / 1000).toFixed(1)}s earlier; its profile is the part from when the request came`,
    ],
  };
}
