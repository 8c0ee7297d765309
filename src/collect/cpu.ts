// CPU profiling through the Profiler domain; knows CDP, not pprof.

import type { Protocol } from 'devtools-protocol';
import { NodeprofError } from '../errors.js';
import type { CdpSession } from '../target/session.js';
import { resetOptimizedCode, type JitResetResult } from './jit-reset.js';
import { probeEventLoop, repairRunningFrames, type LoopAtStart, type RepairOptions } from './blocked.js';
import { cpuBetween, cpuScaleFor, readMainThreadCpu, type CpuClock } from './thread-cpu.js';
import type { CpuScale } from '../pprof/cpu-profile.js';

export interface CpuRecording {
  profile: Protocol.Profiler.Profile;
  startedAtMs: number;
  intervalUs: number;
  jitReset?: JitResetResult;
  /** What the event loop was doing when the profiler started, and what we did about it. */
  loop?: LoopAtStart;
  /** How long Profiler.start took to answer (the profiler's start-up on the target's main thread), ms. */
  profilerStartMs?: number;
  /** How long the whole start took (Profiler.start, the JIT reset, the loop check and repair), ms. */
  setupMs?: number;
  /** The scale from busy samples to the main thread's measured CPU time, when it was measured. */
  cpuScale?: CpuScale;
}

export interface CpuCollectorOptions {
  /** Deoptimize once after Profiler.start on V8 12+ (default true; see jit-reset.ts). */
  jitReset?: boolean;
  /** Pause and step a blocked target so frames already running are attributed (default true). */
  repair?: boolean;
  /**
   * Check whether the event loop turns (default true). Off for a window cut from a profiler that
   * has been running, whose frames were set right when it started (top's windows after its first).
   */
  probe?: boolean;
  probeTimeoutMs?: number;
  repairOptions?: Omit<RepairOptions, 'signal'>;
  /** Called as soon as the start-up check knows the loop is blocked, and again after the repair. */
  onLoopReport?: (loop: LoopAtStart) => void;
}

export class CpuCollector {
  private running = false;
  private startedAtMs = 0;
  private jitReset?: JitResetResult;
  private loop: LoopAtStart | undefined;
  private profilerStartMs: number | undefined;
  private setupMs: number | undefined;
  private clockAtStart: CpuClock | undefined;
  private repairing = false;
  /** Epoch ms after which frames already running are attributed right. */
  private repairedAtMs: number | undefined;
  private turnedAtMs: number | undefined;
  private readonly abort = new AbortController();

  constructor(
    readonly intervalUs: number,
    private readonly opts: CpuCollectorOptions = {},
  ) {}

  async start(session: CdpSession): Promise<void> {
    // Sent together: the inspector handles a session's commands in order, so the three cost one round
    // trip to the target instead of three before the first sample.
    const enabled = session.send('Profiler.enable');
    const interval = session.send('Profiler.setSamplingInterval', { interval: this.intervalUs });
    this.startedAtMs = Date.now();
    const started = session.send('Profiler.start');
    void started.then(
      () => (this.profilerStartMs = Date.now() - this.startedAtMs),
      () => undefined,
    );
    const sent = await Promise.allSettled([enabled, interval, started]);
    // Running if the start went through, even when a command before it failed: cleanup stops it.
    this.running = sent[2]!.status === 'fulfilled';
    const failed = sent.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // The main thread's CPU clock from here to the stop: what cpu/nanoseconds is scaled to.
    this.clockAtStart = await readMainThreadCpu(session);
    try {
      await this.startRest(session);
    } finally {
      this.setupMs = Date.now() - this.startedAtMs;
    }
  }

  private async startRest(session: CdpSession): Promise<void> {
    if (this.opts.jitReset ?? true) this.jitReset = await resetOptimizedCode(session);
    if (this.opts.probe === false) return;
    // The repair must come after Profiler.start: only frames (re-)entered after it are attributed.
    const probe = await probeEventLoop(session, { timeoutMs: this.opts.probeTimeoutMs });
    const repairOff = this.opts.repair === false;
    this.loop = { probe, repairOff };
    void probe.turned.then((at) => (this.turnedAtMs = at));
    if (probe.state !== 'blocked') return;
    this.opts.onLoopReport?.(this.loop);
    if (repairOff || this.abort.signal.aborted) return;
    this.repairing = true;
    try {
      this.loop.repair = await repairRunningFrames(session, { ...this.opts.repairOptions, signal: this.abort.signal });
    } finally {
      this.repairing = false;
    }
    if (this.loop.repair.repaired) this.repairedAtMs = Date.now();
    this.opts.onLoopReport?.(this.loop);
  }

  async stop(session: CdpSession): Promise<CpuRecording> {
    const clockAtStop = this.clockAtStart ? await readMainThreadCpu(session) : undefined;
    const { profile } = (await session.send('Profiler.stop')) as { profile?: unknown };
    this.running = false;
    if (!isCpuProfile(profile)) throw new NodeprofError('the target answered Profiler.stop with something that is not a V8 CPU profile');
    // Over the whole recording, before a repair's cut: a ratio, it holds for any part of it.
    const used = cpuBetween(this.clockAtStart, clockAtStop);
    const cpuScale = used && cpuScaleFor(profile, this.intervalUs, used.nanos, used.source);
    // Not waited for: the profile is converted meanwhile, and cleanup() disables again, waiting.
    session.send('Profiler.disable').catch(() => undefined);
    const loop = this.loop && { ...this.loop, turnedAtMs: this.turnedAtMs, stoppedAtMs: Date.now() };
    let startedAtMs = this.startedAtMs;
    if (loop && this.repairedAtMs !== undefined) {
      // Samples before the repair blame the caller of the running frame: leave them out. Our clock
      // read before Profiler.start went out, so the cut errs late by a round trip, never early.
      const offsetMs = this.repairedAtMs - this.startedAtMs;
      loop.dropped = dropSamplesBefore(profile, profile.startTime + offsetMs * 1000);
      startedAtMs += offsetMs;
    }
    return {
      profile,
      startedAtMs,
      intervalUs: this.intervalUs,
      jitReset: this.jitReset,
      loop,
      profilerStartMs: this.profilerStartMs,
      setupMs: this.setupMs,
      cpuScale,
    };
  }

  async cleanup(session: CdpSession): Promise<void> {
    // Cuts a repair short; it resumes the target and disables the debugger on its way out.
    this.abort.abort();
    if (session.isEnded) return;
    // Not waiting for the repair to unwind: Debugger.disable resumes and cancels whatever it left.
    if (this.repairing) await session.send('Debugger.disable').catch(() => undefined);
    if (this.running) {
      this.running = false;
      await session.send('Profiler.stop').catch(() => undefined);
    }
    await session.send('Profiler.disable').catch(() => undefined);
  }
}

/** Removes the samples taken before cutoffUs (profile clock) in place; says how many and how long. */
export function dropSamplesBefore(profile: Protocol.Profiler.Profile, cutoffUs: number): { samples: number; ms: number } {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (cutoffUs <= profile.startTime || samples.length === 0) return { samples: 0, ms: 0 };
  let t = profile.startTime;
  let first = samples.length;
  let firstAt = profile.endTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t >= cutoffUs) {
      first = i;
      firstAt = t;
      break;
    }
  }
  const hits = new Map<number, number>();
  for (let i = 0; i < first; i++) hits.set(samples[i]!, (hits.get(samples[i]!) ?? 0) + 1);
  for (const n of profile.nodes) if (n.hitCount && hits.has(n.id)) n.hitCount = Math.max(0, n.hitCount - hits.get(n.id)!);
  const start = Math.min(cutoffUs, profile.endTime);
  profile.samples = samples.slice(first);
  profile.timeDeltas = deltas.slice(first);
  if (profile.timeDeltas.length) profile.timeDeltas[0] = Math.max(0, firstAt - start);
  const ms = Math.round((start - profile.startTime) / 1000);
  profile.startTime = start;
  return { samples: first, ms };
}

/**
 * The shape the conversion reads (a hostile target answers anything): nodes with numeric ids and a
 * call frame each, samples and timeDeltas numbers when present. Linear, and allocates nothing.
 */
export function isCpuProfile(p: unknown): p is Protocol.Profiler.Profile {
  if (typeof p !== 'object' || p === null) return false;
  const { nodes, samples, timeDeltas, startTime, endTime } = p as Record<string, unknown>;
  if (!Array.isArray(nodes) || typeof startTime !== 'number' || typeof endTime !== 'number') return false;
  for (const n of nodes) {
    if (typeof n !== 'object' || n === null || typeof n.id !== 'number') return false;
    const cf = n.callFrame;
    if (typeof cf !== 'object' || cf === null || typeof cf.functionName !== 'string' || typeof cf.url !== 'string') return false;
    if (typeof cf.lineNumber !== 'number' || typeof cf.columnNumber !== 'number') return false;
    if (n.children !== undefined && !numbers(n.children)) return false;
    if (
      n.positionTicks !== undefined &&
      !(
        Array.isArray(n.positionTicks) &&
        n.positionTicks.every(
          (t: unknown) =>
            typeof t === 'object' && t !== null && typeof (t as { line?: unknown }).line === 'number' && typeof (t as { ticks?: unknown }).ticks === 'number',
        )
      )
    )
      return false;
  }
  return (samples === undefined || numbers(samples)) && (timeDeltas === undefined || numbers(timeDeltas));
}

function numbers(a: unknown): boolean {
  if (!Array.isArray(a)) return false;
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number') return false;
  return true;
}
