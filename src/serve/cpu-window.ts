// One CPU collection window on its own session (several may run at once: each inspector session
// gets a full profile), through the same CpuCollector as `attach`: the Node 22+ JIT reset, and the
// blocked-loop check and repair (a frame already running when Profiler.start came is invisible to
// V8's profiler until the debugger steps it once).

import type { Protocol } from 'devtools-protocol';
import { CpuCollector } from '../collect/cpu.js';
import { loopComments } from '../collect/blocked.js';
import type { FrameMapper } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';
import { sleep } from './sleep.js';

export interface CpuWindow {
  profile: Protocol.Profiler.Profile;
  startedAtMs: number;
  intervalUs: number;
  /** pprof comments: what was done to the target to get a truthful profile. */
  comments: string[];
  /** Maps frames to original sources (added by the facade after the window). */
  mapFrame?: FrameMapper;
}

export async function recordCpu(session: CdpSession, opts: { ms: number; intervalUs: number; canPause: boolean; signal: AbortSignal }): Promise<CpuWindow> {
  // Pausing the thread that serves this request would deadlock it: no repair in the same thread.
  const collector = new CpuCollector(opts.intervalUs, { repair: opts.canPause });
  try {
    await collector.start(session);
    // A target that finished its work waits for us before it can exit: answer with what it has.
    await Promise.race([sleep(opts.ms, opts.signal), session.exiting]);
    const rec = await collector.stop(session);
    const comments = [...(rec.jitReset?.done ? [`nodeprof: ${rec.jitReset.note}`] : []), ...(rec.loop ? loopComments(rec.loop) : [])];
    return { profile: rec.profile, startedAtMs: rec.startedAtMs, intervalUs: rec.intervalUs, comments };
  } finally {
    await collector.cleanup(session);
  }
}
