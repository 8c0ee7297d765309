// Durations as users type them: 30s, 500ms, 2m, 1m30s, 1h, or a bare number of seconds.

import { UsageError } from './errors.js';

const UNIT_US: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1e6, m: 60e6, h: 3600e6 };
/** setTimeout's limit (2^31-1 ms, ~24.8 days): a longer timer would fire at once. */
const MAX_US = (2 ** 31 - 1) * 1000;
const PART = /(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)/y;

/** Parses a duration to milliseconds; anything that is not a positive duration is a UsageError. */
export function parseDuration(input: string | number, what = 'duration'): number {
  return Math.max(1, Math.round(parseDurationMicros(input, what) / 1000));
}

/** Parses a duration to whole microseconds (sampling intervals go below a millisecond). */
export function parseDurationMicros(input: string | number, what = 'duration'): number {
  const text = String(input).trim();
  let us: number | undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    us = Number(text) * 1e6;
  } else if (text.length > 0) {
    PART.lastIndex = 0;
    let total = 0;
    let matched = 0;
    let lastUnitRank = Infinity;
    const rank = ['us', 'ms', 's', 'm', 'h'];
    for (;;) {
      const start = PART.lastIndex;
      const m = PART.exec(text);
      if (!m) {
        PART.lastIndex = start;
        break;
      }
      const r = rank.indexOf(m[2] === 'µs' ? 'us' : m[2]!);
      if (r >= lastUnitRank) {
        // "30s1m" or "1m1m": units must go from large to small, each once.
        matched = -1;
        break;
      }
      lastUnitRank = r;
      total += Number(m[1]) * UNIT_US[m[2]!]!;
      matched = PART.lastIndex;
    }
    if (matched === text.length) us = total;
  }
  if (us !== undefined) us = Math.round(us);
  if (us === undefined || !Number.isFinite(us) || us <= 0) {
    throw new UsageError(`invalid ${what} '${text}': use a positive duration such as 30s, 500ms, 2m, 1m30s or a number of seconds`);
  }
  if (us > MAX_US) {
    throw new UsageError(`invalid ${what} '${text}': over 24.8 days, the longest timer Node.js has (2^31-1 ms)`);
  }
  return us;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest ? `${m}m${rest}s` : `${m}m`;
}
