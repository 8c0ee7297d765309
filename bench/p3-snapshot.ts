// P3: nodeprof's own memory while it streams a heap snapshot to disk. Targets retain 100 MB and
// 500 MB of small objects; `nodeprof attach <port> --heap-snapshot -o f` takes the snapshot while the
// bench samples nodeprof's peak RSS (VmHWM, the kernel's own high-water mark) from /proc until it
// exits. The goal is that this does not grow with the heap.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procMem } from './lib/serve.js';
import { sleep, startCli, startTarget, stopTarget } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { roundOrder, summarize } from './lib/stats.js';

export interface P3Options {
  /** Heap sizes to retain in the targets, MiB. */
  sizesMB: number[];
  rounds: number;
  log(line: string): void;
}

interface Run {
  peakMiB: number;
  targetPeakMiB: number;
  heapMiB: number;
  snapshotMiB: number;
  seconds: number;
}

async function runOnce(sizeMB: number, dir: string): Promise<Run> {
  // --max-old-space-size: room for the heap itself; the snapshot is built outside it.
  const target = await startTarget('retain-heap.js', {
    nodeArgs: ['--inspect=127.0.0.1:0', '--expose-gc', `--max-old-space-size=${Math.max(2048, sizeMB * 4)}`],
    args: [String(sizeMB)],
    readyTimeoutMs: 300_000,
  });
  const file = path.join(dir, `p3-${sizeMB}.heapsnapshot`);
  try {
    const heapMiB = Number(/heapUsed (\d+)/.exec(target.stdout())?.[1] ?? NaN);
    const t0 = performance.now();
    const cli = startCli(['attach', String(target.inspectPort), '--heap-snapshot', '-o', file]);
    const pid = cli.proc.pid;
    let peak = 0;
    let exited = false;
    void cli.exited.then(() => (exited = true));
    while (!exited) {
      // After it exits and before it is reaped, /proc/<pid>/status has no Vm* lines (NaN): skipped.
      const hwm = procMem(pid)?.hwmMiB;
      if (hwm !== undefined && Number.isFinite(hwm)) peak = Math.max(peak, hwm);
      await sleep(20);
    }
    const done = await cli.exited;
    if (done.code !== 0) throw new Error(`nodeprof exited ${done.code}: ${cli.stderr().trim().split('\n').pop()}`);
    const seconds = (performance.now() - t0) / 1000;
    const targetPeakMiB = procMem(target.proc.pid)?.hwmMiB ?? NaN;
    const snapshotMiB = fs.statSync(file).size / 2 ** 20;
    return { peakMiB: peak || NaN, targetPeakMiB, heapMiB, snapshotMiB, seconds };
  } finally {
    fs.rmSync(file, { force: true });
    await stopTarget(target);
  }
}

export async function measureP3(o: P3Options): Promise<Measure> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-'));
  const runs = new Map<number, Run[]>();
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const size of roundOrder(o.sizesMB, round)) {
        const r = await runOnce(size, dir);
        o.log(
          `P3 ${size} MB round ${round + 1}/${o.rounds}: nodeprof peak RSS ${r.peakMiB.toFixed(1)} MiB; snapshot ${r.snapshotMiB.toFixed(0)} MiB of a ${r.heapMiB} MiB heap in ${r.seconds.toFixed(1)} s; target peak ${r.targetPeakMiB.toFixed(0)} MiB`,
        );
        runs.set(size, [...(runs.get(size) ?? []), r]);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = o.sizesMB.map((size) => {
    const rs = runs.get(size)!;
    const med = (pick: (r: Run) => number) => summarize(rs.map(pick)).median;
    return {
      name: `${size} MB heap: nodeprof peak RSS`,
      unit: 'MiB',
      summary: summarize(rs.map((r) => r.peakMiB)),
      extra: {
        'heap used (median)': `${med((r) => r.heapMiB).toFixed(0)} MiB`,
        'snapshot (median)': `${med((r) => r.snapshotMiB).toFixed(0)} MiB`,
        'snapshot time (median)': `${med((r) => r.seconds).toFixed(1)} s`,
        'target peak RSS (median)': `${med((r) => r.targetPeakMiB).toFixed(0)} MiB`,
      },
    };
  });
  const peaks = rows.map((r) => r.summary.median);
  const notes = [
    `nodeprof's peak RSS from the smallest to the largest heap: ${peaks.map((p) => `${p.toFixed(1)} MiB`).join(' → ')} (${(Math.max(...peaks) - Math.min(...peaks)).toFixed(1)} MiB apart, for snapshots ${rows.map((r) => r.extra!['snapshot (median)']).join(' and ')}).`,
    "Peak RSS is VmHWM from /proc/<pid>/status, read every 20 ms while nodeprof runs (its whole life: start-up, connect, snapshot, write). The target's peak shows what V8 itself needs to build a snapshot, which no client can change.",
    'Targets: bench/fixtures/retain-heap.js, objects with a unique string and an array of 40 small integers each, retained until heapUsed reaches the size.',
  ];
  return {
    id: 'P3',
    title: 'heap snapshot streaming: peak RSS of nodeprof for targets with 100 MB and 500 MB heaps',
    status: 'measured',
    method: `\`nodeprof attach <port> --heap-snapshot -o f\` against a fresh target per run, sizes interleaved; ${o.rounds} round(s).`,
    goal: 'flat, under 120 MB whatever the heap size',
    rows,
    notes,
  };
}
