// The CPU time a target's main thread has used, read at the start and the end of a CPU window so
// the profile's cpu/nanoseconds can be CPU time rather than V8's wall-clock samples.
//
// Local targets: /proc/<pid>/task/<pid>/stat (the main thread's tid is the pid), once the pid the
// target names is shown to be the process we talk to (its process CPU time in /proc matches what
// it says of itself, within the clock's ticks). Otherwise what the target says through
// Runtime.evaluate: process.threadCpuUsage() (Node 22, 23.9+; not 18 or 20), else process.cpuUsage(),
// which counts every thread (GC helpers, the compiler, the profiler's own): an upper bound.
// Everything the target answers is checked before it is used.

import { readFileSync } from 'node:fs';
import { ownScript } from '../pprof/frame.js';
import type { Protocol } from 'devtools-protocol';
import type { CpuScale } from '../pprof/cpu-profile.js';
import type { CdpSession } from '../target/session.js';

export interface CpuClock {
  /** CPU time used so far, ns. */
  nanos: number;
  /** Where it was read, for the profile's comment. */
  source: string;
}

/** Linux's USER_HZ: /proc times are in these ticks. */
const TICKS_PER_S = 100;
/** The target's own process CPU time and /proc's agree within this (ticks, the time between the reads). */
const SAME_PROCESS_SLACK_NS = 100e6;

const EXPRESSION = 'JSON.stringify([process.pid, typeof process.threadCpuUsage === "function" ? process.threadCpuUsage() : null, process.cpuUsage()])';

/** user + system of a { user, system } in µs, as ns; undefined unless both are sane numbers. */
function usageNanos(u: unknown): number | undefined {
  if (typeof u !== 'object' || u === null) return undefined;
  const { user, system } = u as Record<string, unknown>;
  if (typeof user !== 'number' || typeof system !== 'number') return undefined;
  const ns = (user + system) * 1000;
  return Number.isFinite(ns) && ns >= 0 ? ns : undefined;
}

/** utime + stime of a /proc stat line, ns ("pid (comm) S ...": comm may hold spaces and parentheses). */
export function statCpuNanos(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm: state is field 3, utime 14, stime 15 (1-based), so 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime) || utime < 0 || stime < 0) return undefined;
  return ((utime + stime) * 1e9) / TICKS_PER_S;
}

function readStat(file: string): number | undefined {
  try {
    return statCpuNanos(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The main thread's CPU time so far, or undefined when the target does not answer in time or answers nonsense. */
export async function readMainThreadCpu(session: CdpSession, timeoutMs = 2000): Promise<CpuClock | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const res = await Promise.race([
      session.send('Runtime.evaluate', { expression: ownScript(EXPRESSION), returnByValue: true, silent: true }),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    const value = res?.result?.value;
    if (res?.exceptionDetails || typeof value !== 'string' || value.length > 1000) return undefined;
    const parsed = JSON.parse(value) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
    const [pid, thread, proc] = parsed as unknown[];
    const processNs = usageNanos(proc);
    if (process.platform === 'linux' && typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 && processNs !== undefined) {
      const local = readStat(`/proc/${pid}/stat`);
      if (local !== undefined && Math.abs(local - processNs) <= SAME_PROCESS_SLACK_NS + processNs * 0.02) {
        const ns = readStat(`/proc/${pid}/task/${pid}/stat`);
        if (ns !== undefined) return { nanos: ns, source: `/proc/${pid}/task/${pid}/stat` };
      }
    }
    const threadNs = thread === null ? undefined : usageNanos(thread);
    if (threadNs !== undefined) return { nanos: threadNs, source: 'process.threadCpuUsage() in the target' };
    if (processNs !== undefined) return { nanos: processNs, source: 'process.cpuUsage() in the target, all its threads: an upper bound' };
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The CPU time used between two readings from the same source, ns; undefined when they cannot be compared. */
export function cpuBetween(start: CpuClock | undefined, end: CpuClock | undefined): CpuClock | undefined {
  if (!start || !end || start.source !== end.source || end.nanos < start.nanos) return undefined;
  return { nanos: end.nanos - start.nanos, source: start.source };
}

/**
 * The wall time (ns) of a profile's busy samples (neither (idle) nor (root)), counted as the
 * conversion counts it (pprof/cpu-profile.ts: the first sample carries at most an interval): what cpuScaleFor compares with the thread's CPU time.
 */
export function busyNanos(profile: Protocol.Profiler.Profile, intervalUs: number): number {
  const notBusy = new Set<number>();
  for (const n of profile.nodes) {
    const cf = n.callFrame;
    if (cf.url === '' && (cf.functionName === '(idle)' || cf.functionName === '(root)')) notBusy.add(n.id);
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let us = 0;
  if (samples.length === 0) {
    for (const n of profile.nodes) if (!notBusy.has(n.id) && n.hitCount) us += n.hitCount * intervalUs;
    return us * 1000;
  }
  for (let s = 0; s < samples.length; s++) {
    if (notBusy.has(samples[s]!)) continue;
    const d = s < deltas.length ? (s === 0 ? Math.min(deltas[0]!, intervalUs) : deltas[s]!) : intervalUs;
    if (d > 0) us += d;
  }
  return us * 1000;
}

/**
 * The scale from the busy samples' wall time to the `cpuNanos` the thread used over the same
 * window: never above 1 (a thread that got more CPU than its busy wall time was measured wrong, or
 * the measure is the whole process's), undefined when there is nothing to scale.
 */
export function cpuScaleFor(profile: Protocol.Profiler.Profile, intervalUs: number, cpuNanos: number, source: string): CpuScale | undefined {
  const busy = busyNanos(profile, intervalUs);
  if (!(busy > 0) || !(cpuNanos >= 0) || !Number.isFinite(cpuNanos)) return undefined;
  return { factor: Math.min(1, cpuNanos / busy), cpuNanos, busyNanos: busy, source };
}

/** The profile comment saying what cpu/nanoseconds is after the scale. */
export function cpuScaleComment(scale: CpuScale): string {
  const s = (ns: number) => `${(ns / 1e9).toFixed(2)}s`;
  if (scale.factor >= 1) {
    return `nodeprof: cpu/nanoseconds is the main thread's busy samples' time, ${s(scale.busyNanos)}: the thread used ${s(scale.cpuNanos)} of CPU meanwhile (${scale.source}), so it had a core whenever it was sampled busy; samples/count is V8's raw count`;
  }
  return `nodeprof: cpu/nanoseconds is CPU time: V8 samples on a wall clock and counted ${s(scale.busyNanos)} of busy samples on the main thread while it used ${s(scale.cpuNanos)} of CPU (${scale.source}; it waited for a core the rest of the time), so each of its busy samples' time is scaled by ${scale.factor.toFixed(3)}; samples/count is V8's raw count`;
}
