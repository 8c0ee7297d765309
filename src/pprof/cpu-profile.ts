// V8 CPU profile (Profiler.stop) → pprof: samples/count and cpu/nanoseconds, leaf first, line-level
// leaves from positionTicks, (root) dropped, (idle) kept as samples but with no CPU time. The time
// from Profiler.start to the first sample (the profiler's start-up, seconds on a large heap) is in
// no frame, as in DevTools, which starts its timeline at the first sample. V8 samples on a wall
// clock: given the thread's measured CPU time (cpuScale), cpu/nanoseconds is scaled to it.

import type { Protocol } from 'devtools-protocol';
import type { Profile } from 'pprof-format';
import type { AddressBook } from './address-book.js';
import { EMPTY_STACK, ProfileBuilder, type Labels } from './builder.js';
import { frameFromCallFrame, functionName, scriptPath, type Frame } from './frame.js';

/**
 * Rewrites frames (source maps). `covers`, when given, says which scripts it may rewrite: frames of
 * the others are converted without making a Frame for the mapper.
 */
export type FrameMapper = ((frame: Frame, scriptId: string | undefined) => Frame) & { covers?: (scriptId: string | undefined) => boolean };

export interface CpuConvertOptions {
  /** Requested sampling interval in microseconds (the profile's period). */
  intervalUs: number;
  /** Wall-clock start of the profile, ms since the epoch. */
  startedAtMs?: number;
  addresses?: AddressBook;
  mapFrame?: FrameMapper;
  comments?: string[];
  /** Scales the busy (non-idle) samples' time to the thread's measured CPU time (see cpuScaleFor). */
  cpuScale?: CpuScale;
}

/** What the time of busy samples is multiplied by to make it CPU time (0..1), and how it was measured. */
export interface CpuScale {
  factor: number;
  /** The thread's CPU time over the window, ns. */
  cpuNanos: number;
  /** The busy samples' wall time over the same window, ns. */
  busyNanos: number;
  /** Where cpuNanos was read (for the comment). */
  source: string;
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
  /** The time from the profile's start to its first sample that was left out (µs, 0 when none). */
  startGapUs?: number;
}

/**
 * Splits `total` into integer parts proportional to weights (largest remainder, ties to the first),
 * keeping the sum; writes them to `out`. Allocates nothing: it runs for every sampled node with
 * samples on several lines.
 */
function apportion(total: number, weights: Float64Array, n: number, out: Float64Array, rest: Float64Array, order: Int32Array): void {
  let sum = 0;
  for (let k = 0; k < n; k++) sum += weights[k]!;
  if (sum <= 0) {
    for (let k = 0; k < n; k++) out[k] = k === 0 ? total : 0;
    return;
  }
  let left = total;
  for (let k = 0; k < n; k++) {
    const exact = (total * weights[k]!) / sum;
    const part = Math.floor(exact);
    out[k] = part;
    rest[k] = exact - part;
    left -= part;
  }
  // The `left` largest remainders get one more; equal remainders in index order (a stable sort).
  for (let k = 0; k < n; k++) {
    let j = k;
    while (j > 0 && rest[order[j - 1]!]! < rest[k]!) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = k;
  }
  for (let k = 0; left > 0; k = (k + 1) % n, left--) out[order[k]!]! += 1;
}

/**
 * Position of each node in `nodes` by its id, -1 for none: a flat table when ids are small, as V8's
 * are (1..n), a Map otherwise.
 */
function nodeIndex(nodes: readonly Protocol.Profiler.ProfileNode[]): Int32Array | Map<number, number> {
  const n = nodes.length;
  let max = -1;
  for (let i = 0; i < n; i++) {
    const id = nodes[i]!.id;
    if (!Number.isInteger(id) || id < 0 || id > 8 * n + 1024) {
      const map = new Map<number, number>();
      for (let k = 0; k < n; k++) map.set(nodes[k]!.id, k);
      return map;
    }
    if (id > max) max = id;
  }
  const table = new Int32Array(max + 1).fill(-1);
  for (let i = 0; i < n; i++) table[nodes[i]!.id] = i;
  return table;
}

/** The position of node `id` in a nodeIndex, -1 for none. */
function positionOf(index: Int32Array | Map<number, number>, id: number): number {
  if (index instanceof Map) return index.get(id) ?? -1;
  return id >= 0 && id < index.length ? index[id]! : -1;
}

/**
 * Distinct call frames (function, script, position) of a profile: a profile has many tree nodes per
 * function, and a node's frame and location depend on its call frame only. Numbered from 1, each
 * with its frame's fields as numbers (name and file as the address book numbers strings), computed
 * once.
 *
 * Looked up by script id (a short number-like string V8 interns, so the lookup neither hashes nor
 * compares a long URL; the URL when a recorded profile has no ids), then by line and column packed
 * into one number, then the function name; frames that differ only in name are chained, and a chain
 * longer than CHAIN_MAX moves into a Map by name (a profile can hold any number of functions at one
 * position: V8 names `new Function` and eval code by their own source, and a hostile target can name
 * them anything; a chain walked for each of them made the conversion quadratic, minutes for 100k).
 */
/** Frames at one position compared by name one by one up to this many; a Map by name beyond. */
const CHAIN_MAX = 8;

export class CallFrames {
  readonly frames: Protocol.Runtime.CallFrame[] = [undefined as never];
  /** Per slot: 1 for the top (root), 2 for (idle), 0 for the rest. */
  readonly special: number[] = [0];
  /** Per slot: the frame's name and file (stringId numbers), 1-based start line and column (0: unknown). */
  readonly name: number[] = [0];
  readonly file: number[] = [0];
  readonly line: number[] = [0];
  readonly column: number[] = [0];
  /** Per slot: V8's function name (read here instead of through the call frame: one memory access fewer per node). */
  private readonly functionNames: string[] = [''];
  private readonly next: number[] = [0];
  /** Per slot: its place in its position's chain (1 for the last one). */
  private readonly depth: number[] = [0];
  private readonly byScript = new Map<
    string,
    { path: string; file: number; byPosition: Map<number | string, number>; crowded?: Map<number | string, Map<string, number>> }
  >();
  /** Name comparisons made so far (a test's measure of the work, independent of the machine's speed). */
  comparisons = 0;

  constructor(private readonly stringId: (s: string) => number) {}

  slot(cf: Protocol.Runtime.CallFrame): number {
    const key = cf.scriptId || `url:${cf.url}`;
    let script = this.byScript.get(key);
    if (!script) {
      const path = scriptPath(cf.url);
      this.byScript.set(key, (script = { path, file: this.stringId(path), byPosition: new Map() }));
    }
    const line = cf.lineNumber;
    const column = cf.columnNumber;
    // Exact for lines below 2^31 and columns below 2^21 (the usual); a string key otherwise.
    const at =
      line >= -1 && line < 2 ** 31 && column >= -1 && column < 2 ** 21 && Number.isInteger(line) && Number.isInteger(column)
        ? (line + 1) * 2 ** 21 + (column + 1)
        : `${line}:${column}`;
    const first = script.byPosition.get(at) ?? 0;
    // Under a script id the URL is the script's; under a URL key, the URL is the key.
    const fn = cf.functionName;
    const crowd = script.crowded?.get(at);
    if (crowd) {
      this.comparisons++;
      const found = crowd.get(fn);
      if (found !== undefined) return found;
    } else {
      for (let s = first; s !== 0; s = this.next[s]!) {
        this.comparisons++;
        if (this.functionNames[s] === fn) return s;
      }
    }
    const s = this.frames.length;
    this.frames.push(cf);
    this.functionNames.push(fn);
    this.special.push(cf.url === '' ? (cf.functionName === ROOT ? 1 : cf.functionName === IDLE ? 2 : 0) : 0);
    // As frameFromCallFrame makes them.
    const startLine = line >= 0 ? line + 1 : 0;
    this.name.push(this.stringId(functionName(cf.functionName, script.path, startLine, cf.scriptId)));
    this.file.push(script.file);
    this.line.push(startLine);
    this.column.push(column >= 0 ? column + 1 : 0);
    this.next.push(first);
    script.byPosition.set(at, s);
    const depth = first === 0 ? 1 : this.depth[first]! + 1;
    this.depth.push(depth);
    if (crowd) crowd.set(fn, s);
    else if (depth > CHAIN_MAX) {
      // Earliest slot wins a name, as the chain walk (newest first) never sees two equal names.
      const byName = new Map<string, number>();
      for (let c = s; c !== 0; c = this.next[c]!) byName.set(this.functionNames[c]!, c);
      (script.crowded ??= new Map()).set(at, byName);
    }
    return s;
  }
}

/**
 * Adds one V8 CPU profile's samples to a builder (several profiles, e.g. threads, may share one).
 * Work is per tree node, not per sample or stack level (profiles of a long window hold millions of
 * stack frames): nodes are addressed by their position in `profile.nodes`, self samples are summed
 * per node in typed arrays, each distinct call frame gets its frame and location once, and each
 * node's stack is interned once (ProfileBuilder.stackId) on top of its parent's. Location ids are
 * handed out in the order of a leaf-first walk of each sampled node's stack, nodes in the
 * profile's order, so the output does not depend on these caches.
 */
export function addCpuProfile(
  builder: ProfileBuilder,
  profile: Protocol.Profiler.Profile,
  opts: Pick<CpuConvertOptions, 'intervalUs' | 'mapFrame' | 'cpuScale'>,
  labels?: Labels,
): CpuTotals {
  const steps = cpuProfileSteps(builder, profile, opts, labels);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Nodes converted between two turns of the event loop in addCpuProfileYielding (about 50 ms' worth). */
const NODES_PER_TURN = 1 << 14;

/**
 * addCpuProfile, giving the event loop a turn every NODES_PER_TURN nodes: a large profile takes
 * seconds to convert (1M distinct frames: 10 s), and Ctrl-C, whose handler is JavaScript, did
 * nothing meanwhile. The output is the same.
 */
export async function addCpuProfileYielding(
  builder: ProfileBuilder,
  profile: Protocol.Profiler.Profile,
  opts: Pick<CpuConvertOptions, 'intervalUs' | 'mapFrame' | 'cpuScale'>,
  labels?: Labels,
): Promise<CpuTotals> {
  const steps = cpuProfileSteps(builder, profile, opts, labels);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function* cpuProfileSteps(
  builder: ProfileBuilder,
  profile: Protocol.Profiler.Profile,
  opts: Pick<CpuConvertOptions, 'intervalUs' | 'mapFrame' | 'cpuScale'>,
  labels?: Labels,
): Generator<void, CpuTotals> {
  const all = profile.nodes;
  const n = all.length;
  const index = nodeIndex(all);
  const parentOf = new Int32Array(n).fill(-1);
  // Lines with ticks, at most: each may become a location, a stack and a sample of its own.
  let tickLines = 0;
  for (let i = 0; i < n; i++) {
    const node = all[i]!;
    const pt = node.positionTicks;
    if (pt) tickLines += pt.length;
    const children = node.children;
    if (!children) continue;
    for (let k = 0; k < children.length; k++) {
      const ci = positionOf(index, children[k]!);
      if (ci >= 0) parentOf[ci] = i;
    }
  }

  // Self samples and time (µs) per node.
  const count = new Float64Array(n);
  const time = new Float64Array(n);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const interval = opts.intervalUs;
  let startGapUs = 0;
  if (samples.length > 0) {
    // One pass per sample of a long profile, mostly before the JIT has compiled it: the table
    // read inline, no call per sample.
    const table = index instanceof Int32Array ? index : undefined;
    const m = deltas.length;
    for (let s = 0; s < samples.length; s++) {
      const id = samples[s]!;
      const i = table ? (id >= 0 && id < table.length ? table[id]! : -1) : positionOf(index, id);
      if (i < 0) continue;
      count[i]! += 1;
      // timeDeltas[s] is the time since the previous sample; V8 can emit small negative ones. The
      // first one runs from Profiler.start, through the profiler's start-up: at most an interval.
      let d = s < m ? deltas[s]! : interval;
      if (s === 0 && d > interval) {
        startGapUs = d - interval;
        d = interval;
      }
      if (d > 0) time[i]! += d;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const hits = all[i]!.hitCount;
      if (hits) {
        count[i] = hits;
        time[i] = hits * interval;
      }
    }
  }

  let sampled = 0;
  for (let i = 0; i < n; i++) if (count[i]! > 0) sampled++;
  // Room for what this profile can add at most: a stack per node and per line, a sample per
  // sampled node and per line. Exact bounds rather than guesses: on a large profile a guess too
  // small doubles the tables (a copy, and garbage), one too large allocates memory for nothing, and
  // V8 runs a full collection, which marks the whole parsed profile, after every 32 to 64 MB of new
  // array buffers. Locations: one per node (a usual profile has fewer: its nodes share call frames).
  builder.reserveStacks(n + tickLines);
  builder.reserveSamples(sampled + tickLines);
  builder.reserveLocations(n);
  const map = opts.mapFrame;
  const callFrames = new CallFrames((str) => builder.stringId(str));
  const slotOf = new Int32Array(n); // 0: not yet known
  const slot = (i: number): number => {
    let s = slotOf[i]!;
    if (s === 0) slotOf[i] = s = callFrames.slot(all[i]!.callFrame);
    return s;
  };
  // Scripts the source maps rewrite go through Frame objects and the mapper; the rest (all of
  // them without source maps) straight from the slot's numbers.
  // (The CLI always has a mapper, source maps being on by default: asked once per slot.)
  const mappedOf = new Int8Array(n + 1); // per slot: 0 not yet asked, 1 no, 2 yes
  const mapped = (s: number): boolean => {
    if (map === undefined) return false;
    if (mappedOf[s] === 0) mappedOf[s] = (map.covers?.(callFrames.frames[s]!.scriptId) ?? true) ? 2 : 1;
    return mappedOf[s] === 2;
  };
  // For mapped scripts: the slot's Frame, and its positionTicks lines' locations, made once each
  // (a function's lines recur in every node of it).
  const rawFrames: Array<Frame | undefined> = [];
  const rawOf = (s: number): Frame => (rawFrames[s] ??= frameFromCallFrame(callFrames.frames[s]!));
  const mappedLineLocs = new Map<number, Map<number, number>>();
  const slotLocs = new Int32Array(n + 1); // location id by call frame slot (1..n; 0: not yet known)
  const locOf = (i: number): number => {
    const s = slot(i);
    let id = slotLocs[s]!;
    if (id === 0) {
      id = mapped(s)
        ? builder.locationId(map!(rawOf(s), callFrames.frames[s]!.scriptId))
        : builder.locationOf(callFrames.name[s]!, callFrames.file[s]!, callFrames.line[s]!, callFrames.line[s]!, callFrames.column[s]!);
      slotLocs[s] = id;
    }
    return id;
  };
  // Locations of positionTicks lines (already 1-based; callFrame.lineNumber is 0-based), column 0.
  const lineLocOf = (i: number, line: number): number => {
    const s = slot(i);
    if (!mapped(s)) return builder.locationOf(callFrames.name[s]!, callFrames.file[s]!, line, callFrames.line[s]!, 0);
    let byLine = mappedLineLocs.get(s);
    if (!byLine) mappedLineLocs.set(s, (byLine = new Map()));
    let id = byLine.get(line);
    if (id === undefined) {
      id = builder.locationId(map!({ ...rawOf(s), line, column: 0 }, callFrames.frames[s]!.scriptId));
      byLine.set(line, id);
    }
    return id;
  };

  // The stack of each node (itself and its callers, the top (root) left out), interned once per
  // node on top of its parent's; -1: not yet known.
  const stackOf = new Int32Array(n).fill(-1);
  const path: number[] = [];
  const isTopRoot = (p: number) => parentOf[p] === -1 && all[p]!.callFrame.functionName === ROOT;
  /** The stack of i's callers. Assigns their locations nearest first, as a walk up the tree would. */
  const callersOf = (i: number): number => {
    path.length = 0;
    let base = EMPTY_STACK;
    for (let p = parentOf[i]!; p >= 0; p = parentOf[p]!) {
      if (stackOf[p]! >= 0) {
        base = stackOf[p]!;
        break;
      }
      if (isTopRoot(p)) {
        stackOf[p] = EMPTY_STACK;
        break;
      }
      if (path.length > n) break; // a cycle in a malformed tree
      locOf(p);
      path.push(p);
    }
    for (let k = path.length - 1; k >= 0; k--) {
      const p = path[k]!;
      base = builder.stackId(locOf(p), base);
      stackOf[p] = base;
    }
    return base;
  };

  const totals: CpuTotals = { samples: 0, idleSamples: 0, idleNanos: 0, cpuNanos: 0, startGapUs };
  const factor = opts.cpuScale?.factor ?? 1;
  const values = [0, 0];
  let { weights, lines, counts, times, rest, rank } = tickBuffers(16);
  // Nodes in the profile's order (V8's: depth first), not the order they were sampled in: the walk
  // reads the parsed profile front to back (faster than in sample order (bench/RESULTS.md)),
  // and samples and locations of one subtree end up side by side, which gzip compresses to a file
  // smaller.
  for (let i = 0; i < n; i++) {
    if ((i & (NODES_PER_TURN - 1)) === NODES_PER_TURN - 1) yield;
    const c = count[i]!;
    if (c <= 0) continue;
    const node = all[i]!;
    totals.samples += c;
    const special = callFrames.special[slot(i)];
    if (special === 1) continue; // (root)

    const isIdle = special === 2;
    const ns = Math.round(time[i]! * 1000 * (isIdle ? 1 : factor));
    if (isIdle) {
      totals.idleSamples += c;
      totals.idleNanos += ns;
    } else {
      totals.cpuNanos += ns;
    }
    // The lines with ticks (positionTicks with ticks > 0).
    const pt = node.positionTicks;
    let t = 0;
    if (pt) {
      if (pt.length > weights.length) ({ weights, lines, counts, times, rest, rank } = tickBuffers(pt.length));
      for (let k = 0; k < pt.length; k++) {
        const tick = pt[k]!;
        if (tick.ticks > 0) {
          weights[t] = tick.ticks;
          lines[t++] = tick.line;
        }
      }
    }
    if (t === 0) {
      const leaf = locOf(i);
      values[0] = c;
      values[1] = isIdle ? 0 : ns;
      builder.addSampleStack(builder.stackId(leaf, callersOf(i)), values, labels);
      continue;
    }
    if (t === 1) {
      counts[0] = c;
      times[0] = ns;
    } else {
      apportion(c, weights, t, counts, rest, rank);
      apportion(ns, weights, t, times, rest, rank);
    }
    let callers = -1;
    for (let k = 0; k < t; k++) {
      if (counts[k] === 0 && times[k] === 0) continue;
      const leaf = lineLocOf(i, lines[k]!);
      if (callers < 0) callers = callersOf(i);
      values[0] = counts[k]!;
      values[1] = isIdle ? 0 : times[k]!;
      builder.addSampleStack(builder.stackId(leaf, callers), values, labels);
    }
  }
  return totals;
}

function tickBuffers(n: number) {
  return {
    weights: new Float64Array(n),
    lines: new Array<number>(n).fill(0),
    counts: new Float64Array(n),
    times: new Float64Array(n),
    rest: new Float64Array(n),
    rank: new Int32Array(n),
  };
}

export function idleComment(t: CpuTotals): string | undefined {
  if (t.idleSamples === 0 || t.samples === 0) return undefined;
  const pct = ((100 * t.idleSamples) / t.samples).toFixed(1);
  return `nodeprof: ${t.idleSamples} of ${t.samples} samples (${pct}%, ${(t.idleNanos / 1e6).toFixed(0)}ms) were ${IDLE}, the event loop waiting; they count in samples/count but carry no cpu/nanoseconds, so -sample_index=samples shows them`;
}

export function cpuProfileToPprof(profile: Protocol.Profiler.Profile, opts: CpuConvertOptions): Profile {
  return cpuProfileToBuilder(profile, opts).build();
}

/** The converted profile in a builder: encode() for bytes, build() for a Profile. */
export function cpuProfileToBuilder(profile: Protocol.Profiler.Profile, opts: CpuConvertOptions): ProfileBuilder {
  const builder = newCpuBuilder(opts, Math.max(0, Math.round((profile.endTime - profile.startTime) * 1000)));
  return finishCpuBuilder(builder, addCpuProfile(builder, profile, opts), opts);
}

/** cpuProfileToBuilder, letting the event loop (Ctrl-C) run during the conversion. */
export async function cpuProfileToBuilderYielding(profile: Protocol.Profiler.Profile, opts: CpuConvertOptions): Promise<ProfileBuilder> {
  const builder = newCpuBuilder(opts, Math.max(0, Math.round((profile.endTime - profile.startTime) * 1000)));
  return finishCpuBuilder(builder, await addCpuProfileYielding(builder, profile, opts), opts);
}

function finishCpuBuilder(builder: ProfileBuilder, totals: CpuTotals, opts: CpuConvertOptions): ProfileBuilder {
  for (const c of opts.comments ?? []) builder.addComment(c);
  const gap = startGapComment(totals);
  if (gap) builder.addComment(gap);
  const idle = idleComment(totals);
  if (idle) builder.addComment(idle);
  return builder;
}

/** Says that the first sample's wait (the profiler's start-up) was left out, when it was long enough to matter. */
export function startGapComment(t: CpuTotals): string | undefined {
  const us = t.startGapUs ?? 0;
  if (us < 10_000) return undefined;
  return `nodeprof: the first sample came ${(us / 1000).toFixed(0)}ms after Profiler.start (the profiler's start-up in the target, longer on a large heap); that time is in no frame`;
}
