// Flat (leaf) and cumulative sums per frame over a decoded profile: what `attach --top`'s table and
// `nodeprof top`'s screen both show, each over its own key (function or line) and sample values.

import type { Profile } from 'pprof-format';
import { str } from './query.js';

/** One location as a reader names it: its first (innermost) line's function. */
export interface LocationFrame {
  /** The function's name; a location without one is named by its address (`0x1f`). */
  name: string;
  file: string;
  /** The function's first line (1-based; 0 unknown). */
  startLine: number;
  /** The location's line (1-based; 0 unknown). */
  line: number;
}

export interface FrameSum<I> {
  key: string;
  id: I;
  /** Per value index asked for: the samples where this frame was the leaf. */
  flat: number[];
  /** Per value index: the samples where it was anywhere on the stack (once per sample, however deep). */
  cum: number[];
  /** The last sample counted into cum (the recursion guard). */
  lastSample: number;
}

export interface FrameKey<I> {
  key: string;
  id: I;
}

/** Every location of the profile by id, resolved once. */
export function locationFrames(p: Profile): Map<number, LocationFrame> {
  const fns = new Map(p.function.map((f) => [Number(f.id), f]));
  const out = new Map<number, LocationFrame>();
  for (const loc of p.location) {
    const ln = loc.line[0];
    const f = ln ? fns.get(Number(ln.functionId)) : undefined;
    out.set(Number(loc.id), {
      name: f ? str(p, f.name) : `0x${loc.address.toString(16)}`,
      file: f ? str(p, f.filename) : '',
      startLine: Number(f?.startLine ?? 0),
      line: Number(ln?.line ?? 0),
    });
  }
  return out;
}

/**
 * Sums `valueIndices` of every sample `include` accepts per frame key: flat where the key is the
 * leaf's, cumulative where it is on the stack at all (a recursive function once per sample). Each
 * location is keyed once, not once per sample it appears in; locations the profile does not define
 * are skipped. In the order the keys first appear, sample by sample, leaf to root (a table sorted by
 * value keeps that order among equals).
 */
export function sumFrames<I>(
  p: Profile,
  frames: Map<number, LocationFrame>,
  keyOf: (f: LocationFrame) => FrameKey<I>,
  valueIndices: readonly number[],
  include: (leaf: LocationFrame | undefined, sampleIndex: number) => boolean = () => true,
): Array<FrameSum<I>> {
  const sums = new Map<string, FrameSum<I>>();
  const seen: Array<FrameSum<I>> = [];
  const byLocation = new Map<number, FrameSum<I>>();
  for (const [id, f] of frames) {
    const k = keyOf(f);
    let s = sums.get(k.key);
    if (!s) sums.set(k.key, (s = { key: k.key, id: k.id, flat: valueIndices.map(() => 0), cum: valueIndices.map(() => 0), lastSample: -1 }));
    byLocation.set(id, s);
  }
  const values = valueIndices.map(() => 0);
  p.sample.forEach((sample, i) => {
    const leafId = sample.locationId[0];
    if (!include(leafId === undefined ? undefined : frames.get(Number(leafId)), i)) return;
    let any = false;
    valueIndices.forEach((v, j) => {
      values[j] = Number(sample.value[v] ?? 0);
      if (values[j] !== 0) any = true;
    });
    if (!any) return;
    sample.locationId.forEach((id, depth) => {
      const s = byLocation.get(Number(id));
      if (!s) return;
      if (depth === 0) for (let j = 0; j < values.length; j++) s.flat[j]! += values[j]!;
      if (s.lastSample !== i) {
        if (s.lastSample < 0) seen.push(s);
        s.lastSample = i;
        for (let j = 0; j < values.length; j++) s.cum[j]! += values[j]!;
      }
    });
  });
  return seen;
}
