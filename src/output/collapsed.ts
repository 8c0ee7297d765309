// Folded stacks (flamegraph.pl, speedscope, inferno): "root;caller;leaf value" per line. The
// readers call the value "samples", so a CPU profile's are sample counts (samples/count, (idle)
// included, as V8 counts them), not nanoseconds (speedscope showed 8,000,000,000 for 8 s); a heap
// profile's are its default type (bytes), which they take as a weight all the same.

import type { Profile } from 'pprof-format';
import { sampleTypeIndex, stacks } from '../pprof/query.js';

function hasSampleType(p: Profile, name: string): boolean {
  return p.sampleType.some((t) => p.stringTable.strings[Number(t.type)] === name);
}

export function toCollapsed(profile: Profile, sampleType?: string): string {
  const idx = sampleTypeIndex(profile, sampleType ?? (hasSampleType(profile, 'samples') ? 'samples' : undefined));
  const folded = new Map<string, number>();
  for (const s of stacks(profile)) {
    const v = s.values[idx] ?? 0;
    if (v === 0) continue;
    const thread = typeof s.labels.thread === 'string' ? [`[${s.labels.thread}]`] : [];
    // ';' separates frames and newlines end records, so neither may appear inside a name.
    const key = [...thread, ...s.frames.map((f) => f.name.replace(/[;\n]/g, '_')).reverse()].join(';');
    folded.set(key, (folded.get(key) ?? 0) + v);
  }
  return [...folded].map(([k, v]) => `${k} ${v}`).join('\n') + (folded.size ? '\n' : '');
}
