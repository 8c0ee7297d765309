// A decoded pprof Profile as merged call trees (one per thread label, plus all threads), the data
// both pictures are drawn from: the HTML flame graph (output/html.ts) and speedscope's file
// (output/speedscope.ts). Works on any pprof: ours, Go's (inlined frames, several lines per
// location), one scraped from the facade.

import type { Profile } from 'pprof-format';

export interface FlameFrame {
  name: string;
  file: string;
  /** The function's first line (1-based), else the first line seen for it; 0 when unknown. */
  line: number;
}

export interface FlameThread {
  /** The `thread` label, or 'all' for a profile without one. */
  name: string;
  /**
   * The merged call tree in preorder, parents before children: node i has parent[i] (-1 for the
   * roots, which are the outermost frames) and frame[i] (index into FlameData.frames).
   */
  parent: number[];
  frame: number[];
  /** Self values per sample type: self[t][i]. */
  self: number[][];
}

export interface FlameData {
  sampleTypes: Array<{ type: string; unit: string }>;
  /** Index of the sample type shown first (the profile's default, else the last one, as go tool pprof does). */
  defaultType: number;
  frames: FlameFrame[];
  /** One entry per thread label (in the order first seen), or one 'all' entry. */
  threads: FlameThread[];
  /** Profile start (ms since the epoch), 0 when the profile does not say. */
  timeMs: number;
  /** Profile duration, ms; 0 when the profile does not say. */
  durationMs: number;
  comments: string[];
}

const num = (v: number | bigint | undefined): number => Number(v ?? 0);

export function flameData(p: Profile): FlameData {
  const strs = p.stringTable.strings;
  const s = (i: number | bigint | undefined) => strs[num(i)] ?? '';
  const sampleTypes = p.sampleType.map((t) => ({ type: s(t.type), unit: s(t.unit) }));
  const defaultName = num(p.defaultSampleType) ? s(p.defaultSampleType) : undefined;
  const found = defaultName === undefined ? -1 : sampleTypes.findIndex((t) => t.type === defaultName);
  const defaultType = found >= 0 ? found : Math.max(0, sampleTypes.length - 1);

  // Frames are merged by function (name, file, start line): a flame graph shows functions, not lines.
  const frames: FlameFrame[] = [];
  const frameIndex = new Map<string, number>();
  const frameOf = (name: string, file: string, line: number): number => {
    const key = `${name}\0${file}\0${line}`;
    let i = frameIndex.get(key);
    if (i === undefined) {
      i = frames.length;
      frames.push({ name, file, line });
      frameIndex.set(key, i);
    }
    return i;
  };
  const fns = new Map(p.function.map((f) => [num(f.id), f]));
  // Each location's frames, outermost first (pprof lists a location's lines innermost first).
  const locFrames = new Map<number, number[]>();
  for (const l of p.location) {
    const out: number[] = [];
    for (let k = l.line.length - 1; k >= 0; k--) {
      const ln = l.line[k]!;
      const fn = fns.get(num(ln.functionId));
      const name = fn ? s(fn.name) || s(fn.systemName) : '';
      const start = fn ? num(fn.startLine) : 0;
      out.push(frameOf(name || `0x${l.address.toString(16)}`, fn ? s(fn.filename) : '', start || num(ln.line)));
    }
    if (out.length === 0) out.push(frameOf(`0x${l.address.toString(16)}`, '', 0));
    locFrames.set(num(l.id), out);
  }

  const threadKey = strs.indexOf('thread');
  // A node's child for a frame: one map per thread keyed by (node + 1) * frames + frame, not a map
  // per node (a 100k-node tree made 100k maps, and most of the time went to the GC).
  const byThread = new Map<string, FlameThread & { child: Map<number, number> }>();
  const threadOf = (name: string) => {
    let t = byThread.get(name);
    if (!t) {
      t = { name, parent: [], frame: [], self: sampleTypes.map(() => []), child: new Map() };
      byThread.set(name, t);
    }
    return t;
  };
  const unknown = frameOf('?', '', 0);
  const frameCount = frames.length; // no frame is added below
  for (const sample of p.sample) {
    let thread = 'all';
    if (threadKey > 0) {
      const l = sample.label.find((x) => num(x.key) === threadKey && num(x.str) > 0);
      if (l) thread = s(l.str);
    }
    const t = threadOf(thread);
    let node = -1;
    // locationId[0] is the leaf: walk from the last (outermost) inwards.
    for (let k = sample.locationId.length - 1; k >= 0; k--) {
      for (const f of locFrames.get(num(sample.locationId[k])) ?? [unknown]) {
        const key = (node + 1) * frameCount + f;
        let next = t.child.get(key);
        if (next === undefined) {
          next = t.parent.length;
          t.parent.push(node);
          t.frame.push(f);
          for (const col of t.self) col.push(0);
          t.child.set(key, next);
        }
        node = next;
      }
    }
    if (node < 0) continue; // a sample without a stack has nowhere to go
    for (let v = 0; v < t.self.length; v++) t.self[v]![node]! += num(sample.value[v]);
  }
  const threads = [...byThread.values()].map(({ name, parent, frame, self }) => ({ name, parent, frame, self }));
  return {
    sampleTypes,
    defaultType,
    frames,
    threads,
    timeMs: Math.round(num(p.timeNanos) / 1e6),
    durationMs: Math.round(num(p.durationNanos) / 1e6),
    comments: p.comment.map((c) => s(c)),
  };
}
