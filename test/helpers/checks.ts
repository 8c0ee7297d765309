// Assertions shared by the end-to-end tests of each profile kind and the target-version matrix:
// what a user checks in a heap profile, a heap snapshot, a trace, a per-thread CPU profile.

import { expect } from '@jest/globals';
import type { Profile } from 'pprof-format';
import { stacks } from '../../src/pprof/query.js';
import { byFunction, loadProfile, sampleTypes } from './profiles.js';
import { startCli, type CliResult, type RunningTarget } from './processes.js';
import { RETAINED_BYTES } from './retain.js';

/**
 * Runs `nodeprof attach <port> ...args` on fixtures/retain.js and makes it retain its 66 MiB once
 * the sampler has started (stderr matches `started`).
 */
export async function attachWhileRetaining(t: RunningTarget, args: string[], started: RegExp): Promise<CliResult> {
  const run = startCli(['attach', String(t.port), ...args]);
  await run.waitForStderr(started);
  t.proc.stdin!.write('go\n');
  await t.waitForStdout(/retained 65536/);
  return run.done;
}

/** `attach --heap` while retain.js retains: the in-use profile of the window. */
export function heapWhileRetaining(t: RunningTarget, args: string[]): Promise<CliResult> {
  return attachWhileRetaining(t, ['--heap', ...args], /heap: sampling allocations from now/);
}

/**
 * An in-use heap profile of a window in which retain.js retained its arrays: retainMemory carries
 * the retained bytes (±30 % at the default 512 KiB interval: ~130 samples, 1 σ ≈ 9 %).
 */
export function expectRetainedInUse(p: Profile): number {
  expect(sampleTypes(p)).toEqual(['inuse_objects/count', 'inuse_space/bytes']);
  expect(p.stringTable.strings[Number(p.defaultSampleType)]).toBe('inuse_space');
  const retained = byFunction(p, 'inuse_space').flat.get('retainMemory') ?? 0;
  expect(retained).toBeGreaterThan(RETAINED_BYTES * 0.7);
  expect(retained).toBeLessThan(RETAINED_BYTES * 1.3);
  return retained;
}

export interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[] }; node_count: number; edge_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A whole .heapsnapshot: parses, and its arrays hold as many nodes and edges as it says. */
export function checkSnapshot(text: string): Snapshot {
  const s = JSON.parse(text) as Snapshot;
  expect(s.snapshot.meta.node_fields).toContain('self_size');
  expect(s.nodes.length).toBe(s.snapshot.node_count * s.snapshot.meta.node_fields.length);
  expect(s.edges.length).toBe(s.snapshot.edge_count * s.snapshot.meta.edge_fields.length);
  return s;
}

/** A snapshot of retain.js after it retained: 65,536 arrays (each a JSArray and its elements) plus Node's own objects. */
export function expectRetainedArrays(s: Snapshot): void {
  expect(s.snapshot.node_count).toBeGreaterThan(2 * 65_536);
  expect(s.snapshot.node_count).toBeLessThan(2_000_000);
  expect(s.strings).toContain('retainMemory');
}

export interface TraceFile {
  traceEvents: Array<{ ph: string; ts: number; pid: number; tid: number; cat: string; name: string }>;
}

/** Whether a comma-separated event category belongs to one of the requested categories. */
export function fromCategories(cat: string, requested: string[]): boolean {
  return cat.split(',').some((c) => requested.some((r) => c === r || c.startsWith(`${r}.`)));
}

/**
 * A Chrome trace of process `pid`: parses, has events besides metadata, each well-formed and from
 * that process and the requested categories, and the process-name metadata (sent last) is there.
 */
export function checkTrace(text: string, pid: number, categories: string[]): TraceFile {
  const trace = JSON.parse(text) as TraceFile;
  const events = trace.traceEvents.filter((e) => e.ph !== 'M');
  expect(events.length).toBeGreaterThan(0);
  for (const e of trace.traceEvents) {
    expect(typeof e.ph).toBe('string');
    expect(typeof e.ts).toBe('number');
    expect(e.pid).toBe(pid);
  }
  for (const e of events) expect(fromCategories(e.cat, categories)).toBe(true);
  expect(trace.traceEvents.some((e) => e.ph === 'M' && e.name === 'process_name')).toBe(true);
  return trace;
}

/** cpu nanoseconds per (thread label, leaf function). */
export function byThread(file: Uint8Array): Map<string, Map<string, number>> {
  const p = loadProfile(file);
  const out = new Map<string, Map<string, number>>();
  for (const s of stacks(p)) {
    const thread = String(s.labels.thread);
    const m = out.get(thread) ?? new Map<string, number>();
    m.set(s.frames[0]!.name, (m.get(s.frames[0]!.name) ?? 0) + s.values[1]!);
    out.set(thread, m);
  }
  return out;
}

/** The function with the largest value. */
export function top(m: Map<string, number> | undefined): string | undefined {
  return m && [...m].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** `attach --cpu --workers` on fixtures/workers.js: each thread's own hot function on top, under its own label. */
export function expectWorkerThreads(file: Uint8Array): Map<string, Map<string, number>> {
  const threads = byThread(file);
  expect(top(threads.get('main'))).toBe('mainHotFunction');
  expect(top(threads.get('worker 1 hasher'))).toBe('workerHotFunction');
  expect(threads.get('main')!.has('workerHotFunction')).toBe(false);
  expect(threads.get('worker 1 hasher')!.has('mainHotFunction')).toBe(false);
  return threads;
}
