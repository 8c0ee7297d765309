// V8 sampling heap profile (HeapProfiler.getSamplingProfile / stopSampling) → pprof.
//
// Bytes: V8 already scales each sample to an estimate of the bytes it stands for
// (size × round(1 / (1 - e^(-size/interval)))), so sizes are used as reported.
// Objects: V8 does not report counts; they are estimated from the scaled size and the interval
// (objectsForSample).

import type { Protocol } from 'devtools-protocol';
import type { Profile } from 'pprof-format';
import type { AddressBook } from './address-book.js';
import { ProfileBuilder, type Labels } from './builder.js';
import type { FrameMapper } from './cpu-profile.js';
import { frameFromCallFrame, type Frame } from './frame.js';

export type HeapMode = 'inuse' | 'alloc';

export const HEAP_SAMPLE_TYPES = {
  inuse: [
    ['inuse_objects', 'count'],
    ['inuse_space', 'bytes'],
  ],
  alloc: [
    ['alloc_objects', 'count'],
    ['alloc_space', 'bytes'],
  ],
} as const;

export interface HeapConvertOptions {
  mode: HeapMode;
  /** The samplingInterval the sampler was started with, in bytes. */
  intervalBytes: number;
  startedAtMs?: number;
  durationNanos?: number;
  addresses?: AddressBook;
  mapFrame?: FrameMapper;
  comments?: string[];
}

function scaledCount(size: number, interval: number): number {
  return 1 / (1 - Math.exp(-size / interval));
}

/**
 * How many objects one V8 heap sample of `scaled` bytes stands for, at sampling interval `interval`:
 * scaled / s, where s solves s / (1 - e^(-s/interval)) = scaled. V8 rounds its count to an integer
 * before multiplying, which for objects much smaller than the interval leaves the size ambiguous
 * (4,096 B × 129 and 8,256 B × 64 give the same scaled size), so the figure is an estimate: within
 * a factor 2 for one small-object sample, unbiased on average, and close for large objects.
 */
export function objectsForSample(scaled: number, interval: number): number {
  if (scaled <= 0) return 0;
  if (interval <= 0) return 1;
  let lo = 0;
  let hi = scaled;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (mid * scaledCount(mid, interval) < scaled) lo = mid;
    else hi = mid;
  }
  return scaled / Math.max(1, (lo + hi) / 2);
}

export function addHeapProfile(
  builder: ProfileBuilder,
  profile: Protocol.HeapProfiler.SamplingHeapProfile,
  opts: Pick<HeapConvertOptions, 'intervalBytes' | 'mapFrame'>,
  labels?: Labels,
): { bytes: number; objects: number } {
  const map = opts.mapFrame ?? ((f: Frame) => f);
  const byId = new Map<number, { stack: Frame[]; objects: number; bytes: number }>();
  // Walk the tree carrying the stack (leaf first); the root node is V8's "(root)" and is dropped.
  const walk = (node: Protocol.HeapProfiler.SamplingHeapProfileNode, callers: Frame[], isRoot: boolean) => {
    const stack = isRoot ? callers : [map(frameFromCallFrame(node.callFrame), node.callFrame.scriptId), ...callers];
    byId.set(node.id, { stack, objects: 0, bytes: 0 });
    for (const c of node.children) walk(c, stack, false);
  };
  walk(profile.head, [], true);

  if (profile.samples && profile.samples.length > 0) {
    for (const s of profile.samples) {
      const e = byId.get(s.nodeId);
      if (!e) continue;
      e.bytes += s.size;
      e.objects += objectsForSample(s.size, opts.intervalBytes);
    }
  } else {
    // Older targets: only per-node totals; count one sample per interval of bytes.
    const visit = (node: Protocol.HeapProfiler.SamplingHeapProfileNode) => {
      const e = byId.get(node.id)!;
      e.bytes += node.selfSize;
      e.objects += node.selfSize > 0 ? Math.max(1, Math.round(node.selfSize / Math.max(1, opts.intervalBytes))) : 0;
      node.children.forEach(visit);
    };
    visit(profile.head);
  }

  let bytes = 0;
  let objects = 0;
  for (const e of byId.values()) {
    if (e.bytes <= 0 || e.stack.length === 0) continue;
    bytes += e.bytes;
    objects += e.objects;
    builder.addSample(e.stack, [Math.round(e.objects), Math.round(e.bytes)], labels);
  }
  return { bytes, objects };
}

export function newHeapBuilder(opts: HeapConvertOptions, defaultSampleType?: string): ProfileBuilder {
  const types = HEAP_SAMPLE_TYPES[opts.mode];
  return new ProfileBuilder({
    sampleTypes: types,
    defaultSampleType: defaultSampleType ?? types[1][0],
    periodType: ['space', 'bytes'],
    period: opts.intervalBytes,
    timeNanos: opts.startedAtMs !== undefined ? Math.round(opts.startedAtMs * 1e6) : undefined,
    durationNanos: opts.durationNanos,
    addresses: opts.addresses,
  });
}

export function heapProfileToPprof(profile: Protocol.HeapProfiler.SamplingHeapProfile, opts: HeapConvertOptions): Profile {
  return heapProfileToBuilder(profile, opts).build();
}

/** The converted profile in a builder: encode() for bytes, build() for a Profile. */
export function heapProfileToBuilder(profile: Protocol.HeapProfiler.SamplingHeapProfile, opts: HeapConvertOptions): ProfileBuilder {
  const builder = newHeapBuilder(opts);
  addHeapProfile(builder, profile, opts);
  for (const c of opts.comments ?? []) builder.addComment(c);
  return builder;
}
