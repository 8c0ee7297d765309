// The text of one `nodeprof top` frame: a pure function of what is known, sized to the terminal.
// Everything from the target (names, paths, argv) goes through terminalText before it is shown.

import { terminalText } from '../output/terminal-text.js';
import type { Row, SortKey, ThreadModel } from './model.js';

export interface ThreadView {
  label: string;
  model: ThreadModel;
  /** Why this thread shows nothing, or what went wrong with its last window. */
  problem?: string;
}

export interface ScreenState {
  /** Who the target is: "pid 1234 (node v22.1.0) node app.js". */
  title: string;
  threads: ThreadView[];
  selected: number;
  sort: SortKey;
  lines: boolean;
  paused: boolean;
  /** The sampling interval asked for, µs. */
  intervalUs: number;
  /** A one-line message for the bottom line (a warning, the key help). */
  status?: string;
}

const COLUMNS: ReadonlyArray<{ key: SortKey; title: string }> = [
  { key: 'own', title: '%Own' },
  { key: 'total', title: '%Total' },
  { key: 'ownTime', title: 'OwnTime' },
  { key: 'totalTime', title: 'TotalTime' },
];
export const KEYS_HELP = '1-4 sort · l lines/functions · Tab thread · p pause · r reset times · ? columns · q quit';
/** What `?` shows in place of the keys. */
export function columnsHelp(recentMs: number): string {
  return `%Own: running itself, %Total: anywhere on the stack, in the last ${recentMs / 1000}s's samples · Own/TotalTime: CPU time since start (r resets) · ? keys`;
}

export function percent(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}

export function seconds(s: number): string {
  if (s < 10) return `${s.toFixed(2)}s`;
  if (s < 100) return `${s.toFixed(1)}s`;
  return `${Math.round(s)}s`;
}

/** `rate` in Hz as people say it: 100 Hz, 1 kHz, 33.3 Hz. */
export function hertz(intervalUs: number): string {
  if (intervalUs <= 0) return '? Hz';
  const hz = 1e6 / intervalUs;
  if (hz >= 1000) return `${Number((hz / 1000).toFixed(1))} kHz`;
  return `${Number(hz.toFixed(1))} Hz`;
}

/** A path shortened from the left to fit `max` characters. */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, max);
  return `…${text.slice(text.length - max + 1)}`;
}

function fit(line: string, width: number): string {
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}

function where(row: Row, room: number): string {
  const name = terminalText(row.id.name || '(anonymous)');
  if (!row.id.file) return fit(name, room);
  const at = `${terminalText(row.id.file)}${row.id.line > 0 ? `:${row.id.line}` : ''}`;
  // The name first; the path gives way from its left (the file name and line matter most).
  const left = room - name.length - 3;
  return left >= 8 ? `${name} (${tail(at, left)})` : fit(`${name} (${at})`, room);
}

/** The frame as lines, at most `height` of them, none wider than `width`. */
export function renderScreen(s: ScreenState, width: number, height: number): string[] {
  const w = Math.max(20, width);
  const t = s.threads[s.selected];
  const out: string[] = [];
  out.push(`nodeprof top  ${terminalText(s.title)}`);
  const recent = t?.model.recent();
  const rate = hertz(recent?.intervalUs || s.intervalUs);
  const state = s.paused ? '  PAUSED' : '';
  if (recent && recent.samples > 0) {
    out.push(
      `${terminalText(t!.label)}: sampling at ${rate}, last ${(recent.ms / 1000).toFixed(1)}s: ${recent.samples} samples, ` +
        `busy ${percent(1 - recent.idle)}, idle ${percent(recent.idle)}, GC ${percent(recent.gc)}${state}`,
    );
  } else {
    out.push(`${terminalText(t?.label ?? 'main')}: sampling at ${rate}, waiting for the first samples${state}`);
  }
  if (s.threads.length > 1) {
    out.push(`threads (Tab): ${s.threads.map((th, i) => (i === s.selected ? `[${terminalText(th.label)}]` : terminalText(th.label))).join('  ')}`);
  }
  if (t?.problem) out.push(`! ${terminalText(t.problem)}`);
  out.push('');
  const header = COLUMNS.map((c, i) => {
    const title = c.key === s.sort ? `${c.title}▼` : c.title;
    return i < 2 ? title.padStart(8) : title.padStart(10);
  }).join('');
  out.push(`${header}  ${s.lines ? 'Line' : 'Function'} (file:line)`);
  const bottom = s.status ?? KEYS_HELP;
  const room = Math.max(0, height - out.length - 1);
  const rows = t ? t.model.rows(s.sort, s.lines).slice(0, room) : [];
  if (rows.length === 0 && recent && recent.samples > 0 && room > 0) out.push('  (no JavaScript ran: the thread was idle)');
  for (const r of rows) {
    const nums = `${percent(r.own).padStart(8)}${percent(r.total).padStart(8)}${seconds(r.ownTime).padStart(10)}${seconds(r.totalTime).padStart(10)}  `;
    out.push(nums + where(r, w - nums.length));
  }
  while (out.length < height - 1) out.push('');
  out.push(terminalText(bottom));
  return out.slice(0, Math.max(1, height)).map((l) => fit(l, w));
}
