// The terminal top table (self and cumulative per function), for users without go tool pprof.

import type { Profile } from 'pprof-format';
import { sampleTypeIndex, sampleTypeUnit, stacks, str } from '../pprof/query.js';
import { terminalText } from './terminal-text.js';

export function formatValue(v: number, unit: string): string {
  switch (unit) {
    case 'nanoseconds':
      if (v >= 1e9) return `${(v / 1e9).toFixed(2)}s`;
      return `${(v / 1e6).toFixed(v >= 1e8 ? 0 : 1)}ms`;
    case 'bytes':
      if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)}GB`;
      if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(2)}MB`;
      if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)}kB`;
      return `${v}B`;
    default:
      return String(v);
  }
}

export function topTable(profile: Profile, opts: { rows?: number; sampleType?: string } = {}): string {
  const idx = sampleTypeIndex(profile, opts.sampleType);
  const unit = sampleTypeUnit(profile, idx);
  const type = str(profile, profile.sampleType[idx]!.type);
  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  let total = 0;
  for (const s of stacks(profile)) {
    const v = s.values[idx] ?? 0;
    if (v === 0) continue;
    total += v;
    const leaf = s.frames[0];
    const key = (f: { name: string; file: string }) => (f.file ? `${f.name} ${f.file}` : f.name);
    if (leaf) flat.set(key(leaf), (flat.get(key(leaf)) ?? 0) + v);
    for (const k of new Set(s.frames.map(key))) cum.set(k, (cum.get(k) ?? 0) + v);
  }
  const rows = [...cum.keys()].sort((a, b) => (flat.get(b) ?? 0) - (flat.get(a) ?? 0) || (cum.get(b) ?? 0) - (cum.get(a) ?? 0)).slice(0, opts.rows ?? 20);
  const pct = (v: number) => (total ? `${((100 * v) / total).toFixed(1)}%` : '0%');
  const lines = [`Showing top ${rows.length} by flat ${type} of ${formatValue(total, unit)} total`];
  lines.push(`${'flat'.padStart(10)} ${'flat%'.padStart(6)} ${'cum'.padStart(10)} ${'cum%'.padStart(6)}  function`);
  for (const k of rows) {
    const f = flat.get(k) ?? 0;
    const c = cum.get(k) ?? 0;
    lines.push(`${formatValue(f, unit).padStart(10)} ${pct(f).padStart(6)} ${formatValue(c, unit).padStart(10)} ${pct(c).padStart(6)}  ${terminalText(k)}`);
  }
  return lines.join('\n') + '\n';
}
