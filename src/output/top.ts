// The terminal top table (self and cumulative per function), for users without go tool pprof.

import type { Profile } from 'pprof-format';
import { locationFrames, sumFrames, type LocationFrame } from '../pprof/frame-sums.js';
import { sampleTypeIndex, sampleTypeUnit, str } from '../pprof/query.js';
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
  let total = 0;
  for (const sample of profile.sample) total += Number(sample.value[idx] ?? 0);
  const keyOf = (f: LocationFrame) => {
    const key = f.file ? `${f.name} ${f.file}` : f.name;
    return { key, id: key };
  };
  const sums = sumFrames(profile, locationFrames(profile), keyOf, [idx]);
  const rows = sums.sort((a, b) => b.flat[0]! - a.flat[0]! || b.cum[0]! - a.cum[0]!).slice(0, opts.rows ?? 20);
  const pct = (v: number) => (total ? `${((100 * v) / total).toFixed(1)}%` : '0%');
  const lines = [`Showing top ${rows.length} by flat ${type} of ${formatValue(total, unit)} total`];
  lines.push(`${'flat'.padStart(10)} ${'flat%'.padStart(6)} ${'cum'.padStart(10)} ${'cum%'.padStart(6)}  function`);
  for (const r of rows) {
    const f = r.flat[0]!;
    const c = r.cum[0]!;
    lines.push(`${formatValue(f, unit).padStart(10)} ${pct(f).padStart(6)} ${formatValue(c, unit).padStart(10)} ${pct(c).padStart(6)}  ${terminalText(r.id)}`);
  }
  return lines.join('\n') + '\n';
}
