// Runs Go's own `go tool pprof`, the consumer users run, for interop tests.

import { execFile } from 'node:child_process';

export function goPprof(args: string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(
      'go',
      ['tool', 'pprof', ...args],
      { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, PPROF_TMPDIR: process.env.TMPDIR ?? '/tmp' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
  });
}

/** Parses `go tool pprof -top` rows into name → flat fraction. */
export function parseTop(stdout: string): Array<{ flatPct: number; cumPct: number; name: string }> {
  const rows: Array<{ flatPct: number; cumPct: number; name: string }> = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+([\d.]+)%\s+(.+)$/.exec(line);
    if (m) rows.push({ flatPct: Number(m[1]), cumPct: Number(m[2]), name: m[3]!.trim() });
  }
  return rows;
}
