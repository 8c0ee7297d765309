// V8 CPU profile (Profiler.stop) → pprof: samples/count and cpu/nanoseconds, leaf first, line-level
// leaves from positionTicks, (root) dropped, (idle) kept as samples but with no CPU time.

import type { Protocol } from 'devtools-protocol';
import type { Profile } from 'pprof-format';
import type { AddressBook } from './address-book.js';
import { ProfileBuilder, type Labels } from './builder.js';
import { frameFromCallFrame, type Frame } from './frame.js';

export type FrameMapper = (frame: Frame, scriptId: string | undefined) => Frame;

export interface CpuConvertOptions {
  /** Requested sampling interval in microseconds (the profile's period). */
  intervalUs: number;
  /** Wall-clock start of the profile, ms since the epoch. */
  startedAtMs?: number;
  addresses?: AddressBook;
  mapFrame?: FrameMapper;
  comments?: string[];
}

export const CPU_SAMPLE_TYPES = [
  ['samples', 'count'],
  ['cpu', 'nanoseconds'],
] as const;

/** Names V8 gives to time spent outside JavaScript. */
export const IDLE = '(idle)';
const ROOT = '(root)';

export function newCpuBuilder(opts: CpuConvertOptions, durationNanos: number): ProfileBuilder {
  return new ProfileBuilder({
    sampleTypes: CPU_SAMPLE_TYPES,
    defaultSampleType: 'cpu',
    periodType: ['cpu', 'nanoseconds'],
    period: Math.round(opts.intervalUs * 1000),
    timeNanos: opts.startedAtMs !== undefined ? Math.round(opts.startedAtMs * 1e6) : undefined,
    durationNanos,
    addresses: opts.addresses,
  });
}

export interface CpuTotals {
  samples: number;
  idleSamples: number;
  idleNanos: number;
  cpuNanos: number;
}

/** Splits `total` into integer parts proportional to weights (largest remainder), keeping the sum. */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) parts[order[k]![1]]! += 1;
  return parts;
}

/** Adds one V8 CPU profile's samples to a builder (several profiles, e.g. threads, may share one). */
export function addCpuProfile(
  builder: ProfileBuilder,
  profile: Protocol.Profiler.Profile,
  opts: Pick<CpuConvertOptions, 'intervalUs' | 'mapFrame'>,
  labels?: Labels,
): CpuTotals {
  const nodes = new Map<number, Protocol.Profiler.ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    nodes.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }

  // Self samples and time (µs) per node.
  const count = new Map<number, number>();
  const time = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      count.set(id, (count.get(id) ?? 0) + 1);
      // timeDeltas[i] is the time since the previous sample; V8 can emit small negative ones.
      time.set(id, (time.get(id) ?? 0) + Math.max(0, deltas[i] ?? opts.intervalUs));
    }
  } else {
    for (const n of profile.nodes) {
      if (n.hitCount) {
        count.set(n.id, n.hitCount);
        time.set(n.id, n.hitCount * opts.intervalUs);
      }
    }
  }

  const map = opts.mapFrame ?? ((f: Frame) => f);
  const frameCache = new Map<number, Frame>();
  const frameOf = (n: Protocol.Profiler.ProfileNode): Frame => {
    let f = frameCache.get(n.id);
    if (!f) {
      f = map(frameFromCallFrame(n.callFrame), n.callFrame.scriptId);
      frameCache.set(n.id, f);
    }
    return f;
  };

  const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0 };
  for (const [id, c] of count) {
    const node = nodes.get(id);
    if (!node || c <= 0) continue;
    const ns = Math.round((time.get(id) ?? 0) * 1000);
    totals.samples += c;
    if (node.callFrame.functionName === ROOT && node.callFrame.url === '') continue;

    const callers: Frame[] = [];
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const pn = nodes.get(p)!;
      if (pn.callFrame.functionName === ROOT && !parent.has(p)) break;
      callers.push(frameOf(pn));
    }

    const isIdle = node.callFrame.functionName === IDLE && node.callFrame.url === '';
    if (isIdle) {
      totals.idleSamples += c;
      totals.idleNanos += ns;
    } else {
      totals.cpuNanos += ns;
    }
    const leaf = frameOf(node);
    const ticks = (node.positionTicks ?? []).filter((t) => t.ticks > 0);
    if (ticks.length === 0) {
      builder.addSample([leaf, ...callers], [c, isIdle ? 0 : ns], labels);
      continue;
    }
    const counts = apportion(c, ticks.map((t) => t.ticks));
    const times = apportion(ns, ticks.map((t) => t.ticks));
    const raw = frameFromCallFrame(node.callFrame);
    ticks.forEach((t, i) => {
      if (counts[i] === 0 && times[i] === 0) return;
      // positionTicks lines are already 1-based (callFrame.lineNumber is 0-based).
      const lineFrame = map({ ...raw, line: t.line, column: 0 }, node.callFrame.scriptId);
      builder.addSample([lineFrame, ...callers], [counts[i]!, isIdle ? 0 : times[i]!], labels);
    });
  }
  return totals;
}

export function idleComment(t: CpuTotals): string | undefined {
  if (t.idleSamples === 0 || t.samples === 0) return undefined;
  const pct = ((100 * t.idleSamples) / t.samples).toFixed(1);
  return `nodeprof: ${t.idleSamples} of ${t.samples} samples (${pct}%, ${(t.idleNanos / 1e6).toFixed(0)}ms) were ${IDLE}, the event loop waiting; they count in samples/count but carry no cpu/nanoseconds, so -sample_index=samples shows them`;
}

export function cpuProfileToPprof(profile: Protocol.Profiler.Profile, opts: CpuConvertOptions): Profile {
  const builder = newCpuBuilder(opts, Math.max(0, Math.round((profile.endTime - profile.startTime) * 1000)));
  const totals = addCpuProfile(builder, profile, opts);
  for (const c of opts.comments ?? []) builder.addComment(c);
  const idle = idleComment(totals);
  if (idle) builder.addComment(idle);
  return builder.build();
}
