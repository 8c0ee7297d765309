// Read-side helpers over a decoded pprof Profile: resolve strings, stacks and sample types by name.

import type { Profile } from 'pprof-format';

export interface ResolvedFrame {
  name: string;
  file: string;
  line: number;
}

export function str(p: Profile, i: number | bigint): string {
  return p.stringTable.strings[Number(i)] ?? '';
}

export function sampleTypeIndex(p: Profile, name?: string): number {
  const want = name ?? (Number(p.defaultSampleType) ? str(p, p.defaultSampleType) : undefined);
  if (want !== undefined) {
    const i = p.sampleType.findIndex((t) => str(p, t.type) === want);
    if (i >= 0) return i;
  }
  return p.sampleType.length - 1;
}

export function sampleTypeUnit(p: Profile, index: number): string {
  return str(p, p.sampleType[index]!.unit);
}

/** Resolves each sample's stack, leaf first. */
export function stacks(p: Profile): Array<{ frames: ResolvedFrame[]; values: number[]; labels: Record<string, string | number> }> {
  const fns = new Map(p.function.map((f) => [Number(f.id), f]));
  const locs = new Map(
    p.location.map((l) => {
      const line = l.line[0];
      const fn = line ? fns.get(Number(line.functionId)) : undefined;
      return [Number(l.id), { name: fn ? str(p, fn.name) : `0x${l.address.toString(16)}`, file: fn ? str(p, fn.filename) : '', line: Number(line?.line ?? 0) }];
    }),
  );
  return p.sample.map((s) => ({
    frames: s.locationId.map((id) => locs.get(Number(id)) ?? { name: '?', file: '', line: 0 }),
    values: s.value.map(Number),
    labels: Object.fromEntries(s.label.map((l) => [str(p, l.key), Number(l.str) ? str(p, l.str) : Number(l.num)])),
  }));
}
