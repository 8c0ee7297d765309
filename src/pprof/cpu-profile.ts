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

/**
 * Adds one V8 CPU profile's samples to a builder (several profiles, e.g. threads, may share one).
 * Work is per tree node, not per sample or stack level (profiles of a long window hold millions of
 * stack frames): nodes are addressed by their position in `profile.nodes`, and each node's frame
 * and location id are computed once. Location ids are still handed out in the order of a leaf-first
 * walk of each stack, in the order nodes were first sampled, so the output does not depend on these
 * caches.
 */
export function addCpuProfile(
  builder: ProfileBuilder,
  profile: Protocol.Profiler.Profile,
  opts: Pick<CpuConvertOptions, 'intervalUs' | 'mapFrame'>,
  labels?: Labels,
): CpuTotals {
  const all = profile.nodes;
  const n = all.length;
  const index = new Map<number, number>();
  for (let i = 0; i < n; i++) index.set(all[i]!.id, i);
  const parentOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const children = all[i]!.children;
    if (!children) continue;
    for (const c of children) {
      const ci = index.get(c);
      if (ci !== undefined) parentOf[ci] = i;
    }
  }

  // Self samples and time (µs) per node, and the nodes in the order they were first sampled.
  const count = new Float64Array(n);
  const time = new Float64Array(n);
  const order: number[] = [];
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    for (let s = 0; s < samples.length; s++) {
      const i = index.get(samples[s]!);
      if (i === undefined) continue;
      if (count[i] === 0) order.push(i);
      count[i]! += 1;
      // timeDeltas[s] is the time since the previous sample; V8 can emit small negative ones.
      time[i]! += Math.max(0, deltas[s] ?? opts.intervalUs);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const hits = all[i]!.hitCount;
      if (hits) {
        order.push(i);
        count[i] = hits;
        time[i] = hits * opts.intervalUs;
      }
    }
  }

  const map = opts.mapFrame ?? ((f: Frame) => f);
  const rawFrames: Array<Frame | undefined> = new Array(n);
  const rawOf = (i: number): Frame => (rawFrames[i] ??= frameFromCallFrame(all[i]!.callFrame));
  const locations = new Int32Array(n); // 0: not yet assigned (pprof ids start at 1)
  const locOf = (i: number): number => {
    let id = locations[i]!;
    if (id === 0) {
      id = builder.locationId(map({ ...rawOf(i) }, all[i]!.callFrame.scriptId));
      locations[i] = id;
    }
    return id;
  };
  // The stack below a leaf: location ids of its callers, nearest first, the top (root) left out.
  const withCallers = (leaf: number, i: number): number[] => {
    const ids = [leaf];
    for (let p = parentOf[i]!; p >= 0; p = parentOf[p]!) {
      if (parentOf[p] === -1 && all[p]!.callFrame.functionName === ROOT) break;
      ids.push(locOf(p));
    }
    return ids;
  };

  const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0 };
  for (const i of order) {
    const node = all[i]!;
    const c = count[i]!;
    if (c <= 0) continue;
    const ns = Math.round(time[i]! * 1000);
    totals.samples += c;
    const cf = node.callFrame;
    if (cf.functionName === ROOT && cf.url === '') continue;

    const isIdle = cf.functionName === IDLE && cf.url === '';
    if (isIdle) {
      totals.idleSamples += c;
      totals.idleNanos += ns;
    } else {
      totals.cpuNanos += ns;
    }
    const ticks = (node.positionTicks ?? []).filter((t) => t.ticks > 0);
    if (ticks.length === 0) {
      builder.addSampleIds(withCallers(locOf(i), i), [c, isIdle ? 0 : ns], labels);
      continue;
    }
    const counts = apportion(c, ticks.map((t) => t.ticks));
    const times = apportion(ns, ticks.map((t) => t.ticks));
    const raw = rawOf(i);
    let stack: number[] | undefined;
    for (let k = 0; k < ticks.length; k++) {
      if (counts[k] === 0 && times[k] === 0) continue;
      // positionTicks lines are already 1-based (callFrame.lineNumber is 0-based).
      const leaf = builder.locationId(map({ ...raw, line: ticks[k]!.line, column: 0 }, cf.scriptId));
      if (stack) stack[0] = leaf;
      else stack = withCallers(leaf, i);
      builder.addSampleIds(stack, [counts[k]!, isIdle ? 0 : times[k]!], labels);
    }
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
