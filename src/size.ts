// Byte sizes as users type them: 512KiB, 1MiB, 64k, 32768 (bare bytes). k/M/G are binary (1024)
// either way, as V8's sampling interval is usually thought of in KiB.

import { UsageError } from './errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses a positive whole number of bytes; anything else is a UsageError naming `what`. */
export function parseSize(input: string | number, what = 'size'): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1 || bytes > 2 ** 31 - 1) {
    throw new UsageError(`invalid ${what} '${text}': give a positive size such as 512KiB, 64k, 1MiB or a number of bytes`);
  }
  return bytes;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
