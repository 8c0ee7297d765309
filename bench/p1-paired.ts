// P1d: nodeprof's overhead against the floor's, measured inside one target process. P1a/P1b start a
// fresh target per condition, and on a shared machine two fresh processes of the same target differ
// by more than the 1-point goal. Here one target (per fixture) runs back-to-back windows:
// unprofiled, nodeprof attached over the inspector port, and V8's profiler started by an in-process
// inspector session (what `node --cpu-prof` does, src/inspector_profiler.cc in Node), in an order
// rotated every round. Each round's windows are seconds apart in the same process with the same JIT
// state, so the per-round differences carry little of the noise between processes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newAgent, runLoad } from './lib/load.js';
import { cpuProfilerRunning, pinned, windowStarted, sleep, startCli, startTarget, stopTarget, type Child, type Target } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { roundOrder, summarize } from './lib/stats.js';

export interface PairedOptions {
  rounds: number;
  windowMs: number;
  warmUnits: number;
  warmRequests: number;
  connections: number;
  intervalUs: number;
  /** The profiler compared: V8's CPU profiler (P1d) or its sampling heap profiler (P1e, interval in bytes). */
  profiler?: 'cpu' | 'heap';
  intervalBytes?: number;
  fixtures?: ReadonlyArray<'cpu' | 'http'>;
  log(line: string): void;
}

type Condition = 'plain' | 'nodeprof' | 'inproc';
const SETTLE_MS = 500;
const CONDITIONS: readonly Condition[] = ['plain', 'nodeprof', 'inproc'];

/** Waits until `child` has printed `re` (global) `n` times in all; returns the n-th match. */
async function nthStdout(child: Child, re: RegExp, n: number, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = [...child.stdout().matchAll(re)];
    if (all.length >= n) return all[n - 1]!;
    if (child.proc.exitCode !== null) throw new Error(`the target exited: ${child.stderr().trim().split('\n').pop()}`);
    if (Date.now() > deadline) throw new Error(`no ${re} from the target within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** One fixture's rounds: throughput per window, by condition, one entry per round. */
async function runFixture(fixture: 'cpu' | 'http', o: PairedOptions): Promise<Map<Condition, number[]>> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-paired-'));
  const out = new Map<Condition, number[]>(CONDITIONS.map((c) => [c, []]));
  const heap = o.profiler === 'heap';
  let target: Target | undefined;
  const agent = newAgent(o.connections);
  let windows = 0;
  let inprocs = 0;
  let gcs = 0;
  try {
    target = await startTarget(fixture === 'cpu' ? 'cpu-work.js' : 'http-server.js', { nodeArgs: ['--inspect=127.0.0.1:0'] });
    const t = target;
    const measure = async (): Promise<number> => {
      // Every window starts SETTLE_MS after its profiler started (or the previous one stopped): P1
      // is about a running profiler. nodeprof's own start (20-30 ms of its CPU in the first 100 ms,
      // loading its conversion modules) would otherwise compete with the load client on the
      // bench's core; P4 measures the start.
      await sleep(SETTLE_MS);
      if (fixture === 'cpu') {
        t.send(`run 0 ${o.windowMs}`);
        const m = await nthStdout(t, /result (\{.*\})\n/g, ++windows, o.windowMs + 120_000);
        const r = JSON.parse(m[1]!) as { units: number; ms: number };
        return (r.units * 1000) / r.ms;
      }
      const r = await runLoad(agent, { port: t.httpPort, connections: o.connections, durationMs: o.windowMs, maxRequests: 500_000 });
      if (r.errors > 0) throw new Error(`${r.errors} failed requests`);
      return r.rps;
    };
    // Warm-up, as in P1a/P1b: by amount of work.
    if (fixture === 'cpu') {
      t.send(`run ${o.warmUnits} 1`);
      await nthStdout(t, /result (\{.*\})\n/g, ++windows, 180_000);
    } else {
      await runLoad(agent, { port: t.httpPort, connections: o.connections, durationMs: 180_000, maxRequests: o.warmRequests });
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const c of roundOrder(CONDITIONS, round)) {
        let value: number;
        if (c === 'plain') value = await measure();
        else if (c === 'inproc') {
          t.send(heap ? `inproc-heap-start ${o.intervalBytes}` : `inproc-start ${o.intervalUs}`);
          await nthStdout(t, /inproc started\n/g, ++inprocs, 30_000);
          value = await measure();
          t.send(heap ? 'inproc-heap-stop' : 'inproc-stop');
          await nthStdout(t, /inproc stopped (\d+)\n/g, inprocs, 30_000);
        } else {
          const file = path.join(tmp, `round-${round}.pb.gz`);
          const what = heap
            ? ['--heap', '--heap-window', '10m', '--heap-interval', `${o.intervalBytes! / 1024}KiB`]
            : ['--cpu', '10m', '--interval', `${o.intervalUs}us`];
          const cli = startCli(['attach', String(t.inspectPort), ...what, '-o', file]);
          const failed = cli.exited.then((e) =>
            Promise.reject(new Error(`nodeprof exited ${e.code} before profiling: ${cli.stderr().trim().split('\n').pop()}`)),
          );
          failed.catch(() => undefined);
          await Promise.race([heap ? windowStarted(cli, 30_000) : cpuProfilerRunning(t.proc.pid!, 30_000), failed]);
          value = await measure();
          cli.proc.kill('SIGINT');
          const done = await cli.exited;
          if (done.code !== 0 || !fs.existsSync(file)) throw new Error(`nodeprof exited ${done.code}: ${cli.stderr().trim().split('\n').pop()}`);
        }
        if (heap) {
          // nodeprof's heap read ends with a full GC (outside its window); every window of P1e
          // ends with one, so that each starts from the same kind of heap whatever came before.
          t.send('inproc-gc');
          await nthStdout(t, /inproc gc\n/g, ++gcs, 60_000);
        }
        out.get(c)!.push(value);
        o.log(`${heap ? 'P1e' : 'P1d'} ${fixture} round ${round + 1}/${o.rounds} ${c}: ${value.toFixed(1)}/s`);
      }
    }
    await stopTarget(t);
    return out;
  } finally {
    agent.destroy();
    if (target && target.proc.exitCode === null) target.proc.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function measureP1Paired(o: PairedOptions): Promise<Measure> {
  const fixtures = o.fixtures ?? (['cpu', 'http'] as const);
  const rows: Row[] = [];
  const notes: string[] = [];
  const { value: results, how } = await pinned(async () => {
    const r = new Map<string, Map<Condition, number[]>>();
    for (const f of fixtures) r.set(f, await runFixture(f, o));
    return r;
  });
  for (const f of fixtures) {
    const runs = results.get(f)!;
    const base = runs.get('plain')!;
    const label = f === 'cpu' ? 'CPU target' : 'HTTP target';
    const heap = o.profiler === 'heap';
    const npName = heap ? `nodeprof attach --heap, ${o.intervalBytes! / 1024} KiB` : `nodeprof attach --cpu, ${o.intervalUs / 1000} ms`;
    const floorName = heap
      ? `V8's sampling heap profiler from an in-process session (node --heap-prof's way), ${o.intervalBytes! / 1024} KiB`
      : `V8's profiler from an in-process session (node --cpu-prof's way), ${o.intervalUs / 1000} ms`;
    const ratio = (c: Condition) => runs.get(c)!.map((v, i) => v / base[i]!);
    const np = ratio('nodeprof');
    const floor = ratio('inproc');
    rows.push(
      {
        name: `${label}: ${npName}`,
        unit: 'ratio',
        summary: summarize(np),
        extra: { 'overhead (median)': `${((1 - summarize(np).median) * 100).toFixed(1)}%` },
      },
      {
        name: `${label}: ${floorName}`,
        unit: 'ratio',
        summary: summarize(floor),
        extra: { 'overhead (median)': `${((1 - summarize(floor).median) * 100).toFixed(1)}%` },
      },
    );
    // The goal's measure: in each round, how many points more nodeprof cost than the floor.
    const diff = summarize(np.map((x, i) => (floor[i]! - x) * 100));
    rows.push({
      name: `${label}: nodeprof minus floor, percentage points of throughput (paired by round)`,
      unit: 'pp',
      summary: diff,
      extra: { 'overhead (median)': '' },
    });
    notes.push(
      `${label}: nodeprof's overhead minus the floor's, per round: median ${diff.median.toFixed(1)} percentage points over ${diff.n} rounds (min ${diff.min.toFixed(1)}, max ${diff.max.toFixed(1)}; negative: nodeprof cost less); ${diff.median <= 1 ? 'within' : 'outside'} the 1-point goal.`,
    );
  }
  notes.push(`Placement: ${how}.`);
  notes.push(
    `Windows of ${o.windowMs} ms, each starting ${SETTLE_MS} ms after its profiler started (nodeprof's start is P4's business), after a warm-up of ${o.warmUnits} units / ${o.warmRequests} requests; nodeprof is started before its window (once ${o.profiler === 'heap' ? 'it says its heap window started' : "V8's profiler thread runs"}) and stopped with Ctrl-C after it, writing its profile${o.profiler === 'heap' ? ' (after a full GC, outside the window)' : ''}; the in-process profiler is started and stopped by the target on a stdin command, outside the window.`,
  );
  return {
    id: o.profiler === 'heap' ? 'P1e' : 'P1d',
    title:
      o.profiler === 'heap'
        ? 'overhead of heap sampling against the same V8 sampler in-process, paired windows in one target'
        : 'overhead of nodeprof against the same V8 profiler in-process, paired windows in one target',
    status: 'measured',
    method: `One target per fixture, ${o.rounds} rounds of three windows each (unprofiled, nodeprof, in-process), the order rotated and reversed every round; ratios against the round's unprofiled window.`,
    goal: `nodeprof within 1 percentage point of node ${o.profiler === 'heap' ? '--heap-prof' : '--cpu-prof'}`,
    rows,
    notes,
  };
}
