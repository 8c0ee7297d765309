// `npm run bench -- --quick` keeps working: it runs every measure once, briefly, and writes
// RESULTS.md and results.json with numbers. No timing goals are asserted (the machine is shared).
import { afterEach, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/processes.js';

let bench: ChildProcess | undefined;
afterEach(() => {
  // SIGTERM: the bench kills its own targets and CLIs before it exits.
  if (bench && bench.exitCode === null && bench.signalCode === null) bench.kill('SIGTERM');
});

interface Row {
  name: string;
  summary: { n: number; min: number; median: number; max: number };
  extra?: Record<string, string>;
}
interface Measure {
  id: string;
  status: string;
  rows?: Row[];
  reason?: string;
}

test('bench --quick writes RESULTS.md and results.json holding numbers for every measured item', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-test-'));
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    bench = spawn(process.execPath, [path.join(ROOT, 'dist/bench/run.js'), '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    bench.stderr!.on('data', (d) => (stderr += d));
    bench.on('close', (c) => resolve(c));
  });
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });

  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
    quick: boolean;
    machine: { cores: number; node: string };
    measures: Measure[];
  };
  expect(results.quick).toBe(true);
  expect(results.machine.cores).toBeGreaterThan(0);
  expect(results.machine.node).toBe(process.version);
  const byId = new Map(results.measures.map((m) => [m.id, m]));
  for (const id of ['P1a', 'P1b', 'P1c', 'P1d', 'P1e', 'P2', 'P3', 'P4', 'P5', 'P6', 'P6b', 'P9', 'P10']) {
    const m = byId.get(id);
    expect({ id, status: m?.status }).toEqual({ id, status: 'measured' });
    expect(m!.rows!.length).toBeGreaterThan(0);
    for (const r of m!.rows!) {
      expect({ id, row: r.name, finite: [r.summary.min, r.summary.median, r.summary.max].every(Number.isFinite) }).toEqual({ id, row: r.name, finite: true });
      expect(r.summary.n).toBeGreaterThan(0);
    }
  }
  // P1: every profiler condition ran, and the baseline ratio is 1 by construction.
  const p1 = byId.get('P1a')!.rows!;
  expect(p1.map((r) => r.name)).toEqual(
    expect.arrayContaining(['unprofiled (baseline)', 'nodeprof attach --cpu, 1 ms', 'nodeprof attach --cpu, 10 ms', 'node --cpu-prof, 1 ms (the floor)']),
  );
  expect(p1.find((r) => r.name === 'unprofiled (baseline)')!.summary.median).toBe(1);
  // P1c: nodeprof's heap sampler next to node --heap-prof (--quick: on the CPU target only).
  const p1c = byId.get('P1c')!.rows!.map((r) => r.name);
  expect(p1c).toEqual(
    expect.arrayContaining([
      'CPU target: unprofiled (baseline)',
      'CPU target: nodeprof attach --heap, 512 KiB',
      'CPU target: node --heap-prof, 512 KiB (the floor)',
    ]),
  );
  // P1d: nodeprof and the in-process floor in paired windows of one target, and their difference.
  expect(byId.get('P1d')!.rows!.map((r) => r.name)).toEqual(
    expect.arrayContaining([
      'CPU target: nodeprof attach --cpu, 1 ms',
      expect.stringMatching(/^CPU target: V8's profiler from an in-process session/),
      expect.stringMatching(/^CPU target: nodeprof minus floor/),
    ]),
  );
  // P1e: the same for heap sampling, against V8's sampler started in-process (node --heap-prof's way).
  expect(byId.get('P1e')!.rows!.map((r) => r.name)).toEqual(
    expect.arrayContaining(['CPU target: nodeprof attach --heap, 512 KiB', expect.stringMatching(/^CPU target: nodeprof minus floor/)]),
  );
  // P3: nodeprof's peak RSS while it streamed the snapshot (a real process's, so above a few MiB).
  expect(byId.get('P3')!.rows![0]!.summary.median).toBeGreaterThan(10);
  // P6: every concurrent profile and every sequential scrape was answered 200; RSS of both processes read.
  const p6 = byId.get('P6')!.rows!;
  for (const r of p6.filter((x) => x.extra?.['status codes'] !== undefined))
    expect({ row: r.name, status: r.extra!['status codes'] }).toEqual({ row: r.name, status: expect.stringMatching(/^200: \d+$/) });
  expect(p6.map((r) => r.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^nodeprof serve RSS/), expect.stringMatching(/^target RSS/)]));

  // P6b: 1, 4, 16 and 40 concurrent CPU requests through serve, never more profiler threads than its bound.
  const p6b = byId.get('P6b')!.rows!.filter((r) => r.extra?.['most profiler threads at once'] !== undefined);
  expect(p6b.map((r) => r.name.split(' ')[0])).toEqual(['1', '4', '16', '40']);
  for (const r of p6b) expect(Number(r.extra!['most profiler threads at once'])).toBeLessThanOrEqual(2);

  // P10: Profiler.start's round trip and first-sample gap for each heap size (--quick: 1 and 20 MiB).
  expect(byId.get('P10')!.rows!.map((r) => r.name.split(' ')[0])).toEqual(['1', '1', '20', '20']);

  const md = fs.readFileSync(path.join(out, 'RESULTS.md'), 'utf8');
  expect(md).toMatch(/npm run bench|dist\/bench\/run\.js --quick/);
  expect(md).toMatch(/\| cores \| \d+ × /);
  expect(md).toMatch(/\| Node\.js \| v\d+/);
  expect(md).toMatch(/## P2: .*\n[\s\S]*?\| [^|]+ \| \d+\.\d+ \| \*\*\d+\.\d+\*\* \|/);
}, 900_000);
