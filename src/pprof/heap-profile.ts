// V8 sampling heap profile (HeapProfiler.getSamplingProfile / stopSampling) → pprof.
//
// Bytes: V8 already scales each sample to an estimate of the bytes it stands for
// (size × round(1 / (1 - e^(-size/interval)))), so sizes are used as reported.
// Objects: V8 does not report counts; they are estimated from the scaled size and the interval
// (objectsForSample).

import type { Protocol } from 'devtools-protocol';
import type { Profile } from 'pprof-format';
import type { AddressBook } from './address-book.js';
import { EMPTY_STACK, ProfileBuilder, type Labels } from './builder.js';
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
  // The tree flattened in preorder (the order a recursive walk visits it), without recursion: the
  // tree's depth is the target's to choose. Each node's stack is interned on top of its parent's
  // when a sample needs it (ProfileBuilder.stackId), not copied per node: a copy per node made a
  // hostile profile of deep chains cost nodes × depth. Location ids come out in the same order as
  // the copies gave them (root first along each sampled stack, nodes in preorder).
  const nodes: Protocol.HeapProfiler.SamplingHeapProfileNode[] = [];
  const parent: number[] = [];
  const frames: Array<Frame | undefined> = [];
  const byId = new Map<number, number>(); // node id → its position in nodes (the last one with that id)
  const todo: Array<[Protocol.HeapProfiler.SamplingHeapProfileNode, number]> = [[profile.head, -1]];
  while (todo.length > 0) {
    const [node, p] = todo.pop()!;
    const k = nodes.length;
    nodes.push(node);
    parent.push(p);
    // The root node is V8's "(root)" and is dropped.
    frames.push(p < 0 ? undefined : map(frameFromCallFrame(node.callFrame), node.callFrame.scriptId));
    byId.set(node.id, k);
    const children = node.children;
    if (Array.isArray(children)) for (let i = children.length - 1; i >= 0; i--) todo.push([children[i]!, k]);
  }
  const n = nodes.length;
  const nodeBytes = new Float64Array(n);
  const nodeObjects = new Float64Array(n);

  if (profile.samples && profile.samples.length > 0) {
    for (const s of profile.samples) {
      const k = byId.get(s.nodeId);
      if (k === undefined) continue;
      nodeBytes[k]! += s.size;
      nodeObjects[k]! += objectsForSample(s.size, opts.intervalBytes);
    }
  } else {
    // Older targets: only per-node totals; count one sample per interval of bytes.
    for (const node of nodes) {
      const k = byId.get(node.id)!;
      nodeBytes[k]! += node.selfSize;
      nodeObjects[k]! += node.selfSize > 0 ? Math.max(1, Math.round(node.selfSize / Math.max(1, opts.intervalBytes))) : 0;
    }
  }

  const stackOf = new Int32Array(n).fill(-1);
  const path: number[] = [];
  const stackOfNode = (k: number): number => {
    path.length = 0;
    let base = EMPTY_STACK;
    for (let q = k; q >= 0; q = parent[q]!) {
      if (stackOf[q]! >= 0) {
        base = stackOf[q]!;
        break;
      }
      if (parent[q]! < 0) break; // the root: the empty stack
      path.push(q);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const q = path[i]!;
      base = builder.stackId(builder.locationId(frames[q]!), base);
      stackOf[q] = base;
    }
    return base;
  };

  let bytes = 0;
  let objects = 0;
  for (const k of byId.values()) {
    if (nodeBytes[k]! <= 0 || parent[k]! < 0) continue;
    bytes += nodeBytes[k]!;
    objects += nodeObjects[k]!;
    builder.addSampleStack(stackOfNode(k), [Math.round(nodeObjects[k]!), Math.round(nodeBytes[k]!)], labels);
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
