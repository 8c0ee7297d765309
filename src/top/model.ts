// What `nodeprof top` shows for one thread: per function, the share of samples it was running
// (own) or on the stack (total) over the last few seconds, and its time since top started (or
// since the user reset it). Fed with windows already converted to pprof, so names, files and lines
// are the ones `attach --top` and go tool pprof show (source maps, `(anonymous eval#N:L)`, ...).

import type { Profile } from 'pprof-format';
import { IDLE } from '../pprof/cpu-profile.js';
import { locationFrames, sumFrames, type FrameKey, type LocationFrame } from '../pprof/frame-sums.js';
import { sampleTypeIndex } from '../pprof/query.js';

/** Frames V8 puts where no JavaScript function runs. */
const GC = '(garbage collector)';

export interface FunctionId {
  name: string;
  file: string;
  /** The function's first line, or with lines on, the line the samples were at (1-based; 0 unknown). */
  line: number;
}

interface Counts {
  id: FunctionId;
  /** Samples. */
  own: number;
  total: number;
  /** CPU time, ns (cpu/nanoseconds: V8's sample times, scaled to the thread's CPU time when measured). */
  ownNs: number;
  totalNs: number;
}

/** One refresh's samples, summed per function key. */
export interface WindowCounts {
  /** Wall time the window covered, ms. */
  ms: number;
  samples: number;
  idle: number;
  gc: number;
  /** Sampling interval, µs. */
  intervalUs: number;
  byFunction: Map<string, Counts>;
  byLine: Map<string, Counts>;
}

export type SortKey = 'own' | 'total' | 'ownTime' | 'totalTime';
export const SORT_KEYS: readonly SortKey[] = ['own', 'total', 'ownTime', 'totalTime'];

export interface Row {
  id: FunctionId;
  /** Shares of the recent samples, 0..1. */
  own: number;
  total: number;
  /** Seconds since top started or was reset. */
  ownTime: number;
  totalTime: number;
}

export interface Recent {
  /** How much wall time the recent windows cover, ms. */
  ms: number;
  samples: number;
  /** Shares of the recent samples, 0..1. */
  idle: number;
  gc: number;
  intervalUs: number;
}

/** Sums one converted CPU window (samples/count and cpu/nanoseconds, leaf first) per function and per line. */
export function countWindow(p: Profile, ms: number): WindowCounts {
  const countIdx = sampleTypeIndex(p, 'samples');
  const cpuIdx = sampleTypeIndex(p, 'cpu');
  const frames = locationFrames(p);
  const w: WindowCounts = { ms, samples: 0, idle: 0, gc: 0, intervalUs: Number(p.period) / 1000, byFunction: new Map(), byLine: new Map() };
  const counted = new Uint8Array(p.sample.length);
  p.sample.forEach((s, i) => {
    const n = Number(s.value[countIdx] ?? 0);
    if (n <= 0) return;
    w.samples += n;
    const leaf = s.locationId.length ? frames.get(Number(s.locationId[0])) : undefined;
    if (leaf?.name === IDLE) w.idle += n;
    else {
      if (leaf?.name === GC) w.gc += n;
      counted[i] = 1;
    }
  });
  const include = (_leaf: LocationFrame | undefined, i: number) => counted[i] === 1;
  const byFunction = (f: LocationFrame) => id({ name: f.name, file: f.file, line: f.startLine });
  const byLine = (f: LocationFrame) => id({ name: f.name, file: f.file, line: f.line });
  for (const [into, keyOf] of [
    [w.byFunction, byFunction],
    [w.byLine, byLine],
  ] as const) {
    for (const c of sumFrames(p, frames, keyOf, [countIdx, cpuIdx], include)) {
      into.set(c.key, { id: c.id, own: c.flat[0]!, total: c.cum[0]!, ownNs: c.flat[1]!, totalNs: c.cum[1]! });
    }
  }
  return w;
}

function id(f: FunctionId): FrameKey<FunctionId> {
  return { key: `${f.name}\u0000${f.file}\u0000${f.line}`, id: f };
}

/** The windows of the last `spanMs` and the time per function since the start (or the last reset). */
export class ThreadModel {
  private windows: WindowCounts[] = [];
  private readonly sinceFn = new Map<string, Counts>();
  private readonly sinceLine = new Map<string, Counts>();

  constructor(private readonly spanMs: number) {}

  add(w: WindowCounts): void {
    this.windows.push(w);
    let covered = 0;
    let keep = this.windows.length;
    // Keep the newest windows that fit in the span (at least one).
    for (let i = this.windows.length - 1; i >= 0; i--) {
      covered += this.windows[i]!.ms;
      keep = i;
      if (covered >= this.spanMs) break;
    }
    this.windows = this.windows.slice(keep);
    for (const [from, into] of [
      [w.byFunction, this.sinceFn],
      [w.byLine, this.sinceLine],
    ] as const) {
      for (const [k, c] of from) sum(into, k, c);
    }
  }

  reset(): void {
    this.sinceFn.clear();
    this.sinceLine.clear();
  }

  get hasData(): boolean {
    return this.windows.length > 0;
  }

  recent(): Recent {
    const r: Recent = { ms: 0, samples: 0, idle: 0, gc: 0, intervalUs: this.windows.at(-1)?.intervalUs ?? 0 };
    for (const w of this.windows) {
      r.ms += w.ms;
      r.samples += w.samples;
      r.idle += w.idle;
      r.gc += w.gc;
    }
    if (r.samples > 0) {
      r.idle /= r.samples;
      r.gc /= r.samples;
    }
    return r;
  }

  /** Rows sorted by `sort`, largest first; ties by total share, then name. */
  rows(sort: SortKey, lines: boolean): Row[] {
    const recent = new Map<string, Counts>();
    let samples = 0;
    for (const w of this.windows) {
      samples += w.samples;
      for (const [k, c] of lines ? w.byLine : w.byFunction) sum(recent, k, c);
    }
    const since = lines ? this.sinceLine : this.sinceFn;
    const keys = new Set([...recent.keys(), ...since.keys()]);
    const rows: Row[] = [];
    for (const k of keys) {
      const r = recent.get(k);
      const s = since.get(k);
      const row = {
        id: (r ?? s)!.id,
        own: r && samples ? r.own / samples : 0,
        total: r && samples ? r.total / samples : 0,
        ownTime: (s?.ownNs ?? 0) / 1e9,
        totalTime: (s?.totalNs ?? 0) / 1e9,
      };
      // Functions neither seen lately nor since the reset are gone from the table.
      if (row.total > 0 || row.totalTime > 0) rows.push(row);
    }
    return rows.sort((a, b) => b[sort] - a[sort] || b.total - a.total || b.totalTime - a.totalTime || a.id.name.localeCompare(b.id.name));
  }
}

function sum(into: Map<string, Counts>, key: string, c: Counts): void {
  const s = into.get(key);
  if (!s) {
    into.set(key, { ...c });
    return;
  }
  s.own += c.own;
  s.total += c.total;
  s.ownNs += c.ownNs;
  s.totalNs += c.totalNs;
}
