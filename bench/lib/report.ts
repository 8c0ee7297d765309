// The shape of the bench's results (results.json) and their rendering as RESULTS.md.

import type { Summary } from './stats.js';

export interface Row {
  name: string;
  unit: string;
  summary: Summary;
  /** Extra columns, by header. */
  extra?: Record<string, string>;
}

export interface Measured {
  id: string;
  title: string;
  status: 'measured';
  /** How the number is obtained, in one or two sentences. */
  method: string;
  goal?: string;
  rows: Row[];
  notes: string[];
}

export interface NotMeasured {
  id: string;
  title: string;
  status: 'not measured yet' | 'failed' | 'skipped';
  /** What it waits for (a feature), or why it failed. */
  reason: string;
  goal?: string;
}

export type Measure = Measured | NotMeasured;

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  commit: string;
}

export interface Results {
  command: string;
  quick: boolean;
  machine: MachineFacts;
  wallSeconds: number;
  /** Seconds each part of the run took (by the ids of its measures, e.g. P1a+P1b), in run order. */
  partSeconds?: Array<[id: string, seconds: number]>;
  measures: Measure[];
}

export function fmt(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (unit === 'ratio') return x.toFixed(3);
  if (unit === '%') return `${x.toFixed(1)}%`;
  const a = Math.abs(x);
  const s = a >= 1000 ? x.toFixed(0) : a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : x.toFixed(3);
  return unit && unit !== 'ratio' ? `${s} ${unit}` : s;
}

export const NOTES_MARKER = '<!-- Everything below this line is written by hand and kept by `npm run bench`. -->';

export function renderMarkdown(res: Results, keptNotes: string): string {
  const m = res.machine;
  const out: string[] = [];
  out.push('# nodeprof benchmarks', '');
  const parts = res.partSeconds?.length ? ` (${res.partSeconds.map(([id, sec]) => `${id} ${sec.toFixed(0)} s`).join(', ')})` : '';
  out.push(`Written by \`${res.command}\` (bench/run.ts) on ${m.date}; the whole run took ${res.wallSeconds.toFixed(0)} s${parts}.`);
  if (res.quick) out.push('', '**Quick mode**: one short round per measure, to check the harness works. These numbers mean little.');
  out.push('');
  out.push('| machine | |', '|---|---|');
  out.push(`| cores | ${m.cores} × ${m.cpuModel} |`);
  out.push(`| memory | ${m.memoryGiB.toFixed(1)} GiB |`);
  out.push(`| Node.js | ${m.node} (${m.platform}) |`);
  out.push(
    `| load average (1, 5, 15 min) at start / end | ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(', ')} / ${(m.loadAverageAtEnd ?? []).map((x) => x.toFixed(2)).join(', ')} |`,
  );
  out.push(`| commit | ${m.commit} |`);
  out.push('');
  out.push(
    'Each figure is the min / median / max over the runs (n); conditions are interleaved round by round, and ratios are taken against a baseline measured in the same round.',
  );
  for (const x of res.measures) {
    out.push('', `## ${x.id}: ${x.title}`, '');
    if (x.status !== 'measured') {
      out.push(`**${x.status}**: ${x.reason}`);
      if (x.goal) out.push('', `Goal: ${x.goal}.`);
      continue;
    }
    out.push(x.method);
    if (x.goal) out.push('', `Goal: ${x.goal}.`);
    out.push('');
    const extraCols = [...new Set(x.rows.flatMap((r) => Object.keys(r.extra ?? {})))];
    out.push(`| | min | median | max | n |${extraCols.map((c) => ` ${c} |`).join('')}`);
    out.push(`|---|---:|---:|---:|---:|${extraCols.map(() => '---:|').join('')}`);
    for (const r of x.rows) {
      const s = r.summary;
      out.push(
        `| ${r.name} | ${fmt(s.min, r.unit)} | **${fmt(s.median, r.unit)}** | ${fmt(s.max, r.unit)} | ${s.n} |${extraCols.map((c) => ` ${r.extra?.[c] ?? ''} |`).join('')}`,
      );
    }
    if (x.notes.length) out.push('', ...x.notes.map((n) => `- ${n}`));
  }
  out.push('', NOTES_MARKER, keptNotes.trimEnd() ? `\n${keptNotes.trim()}\n` : '');
  return out.join('\n');
}
