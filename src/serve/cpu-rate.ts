// The CPU sampling rate of `nodeprof serve` and the in-process facade: 100 Hz by default (Go's
// runtime rate, and the rate of the profilers built to stay on in production), set with
// --cpu-interval, NODEPROF_CPU_INTERVAL or pprofHandler's cpuInterval, per request with ?hz=.
// `attach --cpu` keeps 1 ms: a person looking for 30 s wants the detail.

import { parseDurationMicros } from '../duration.js';
import { UsageError } from '../errors.js';

/** 10 ms: 100 Hz. */
export const SERVE_CPU_INTERVAL_US = 10_000;
/** 100 µs (10 kHz): below this V8's sampler thread costs more than the target's own work. */
export const MIN_CPU_INTERVAL_US = 100;
/** 1 s (1 Hz). */
export const MAX_CPU_INTERVAL_US = 1_000_000;

/** A sampling interval as typed (10ms, 500us, 0.01), checked against the bounds; a UsageError otherwise. */
export function parseCpuInterval(input: string | number, what = '--cpu-interval'): number {
  const us = parseDurationMicros(input, what);
  if (us < MIN_CPU_INTERVAL_US || us > MAX_CPU_INTERVAL_US)
    throw new UsageError(`invalid ${what} '${String(input).trim()}': use an interval from 100us to 1s (10 kHz to 1 Hz), such as 10ms`);
  return us;
}

/** The interval for ?hz=H, or a reason it is refused (not a number, or outside 1..10000). */
export function hzInterval(raw: string): number | string {
  if (!/^\d+(\.\d+)?$/.test(raw) || !(Number(raw) > 0)) return 'invalid value for "hz" - must be a positive number';
  const us = Math.round(1e6 / Number(raw));
  if (us < MIN_CPU_INTERVAL_US || us > MAX_CPU_INTERVAL_US) return `"hz" is ${raw}, outside the 1 to 10000 this server samples at`;
  return us;
}
