// P1: what profiling costs the target. Throughput of a CPU-bound target and of an HTTP target under
// a bounded loopback load, with each profiler running, as a ratio to the same target unprofiled in
// the same round. P1a/P1b: CPU profilers; P1c: heap (allocation sampling) profilers.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodePprof } from '../src/pprof/encode.js';
import { newAgent, runLoad } from './lib/load.js';
import { cpuProfilerRunning, pinned, windowStarted, startCli, startNode, startTarget, stopTarget, ROOT, type Target } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { roundOrder, summarize } from './lib/stats.js';

export interface P1Options {
  rounds: number;
  /** Warm-up, as work: units of the CPU target, requests to the HTTP target. */
  warmUnits: number;
  warmRequests: number;
  measureMs: number;
  connections: number;
  log(line: string): void;
  /** Condition keys to run (the baseline always runs); all when absent. */
  only?: string[];
  fixtures?: readonly Fixture[];
}

/** The conditions o.only keeps (the baseline always, since every ratio needs it). */
function chosen(conds: Condition[], o: P1Options): Condition[] {
  return o.only ? conds.filter((c) => c.kind === 'plain' || o.only!.includes(c.key)) : conds.filter((c) => !c.optIn);
}

type Kind = 'plain' | 'inspect' | 'nodeprof' | 'top' | 'cpuprof' | 'datadog' | 'nodeprof-heap' | 'heapprof' | 'datadog-heap';
interface Condition {
  key: string;
  name: string;
  kind: Kind;
  intervalUs?: number;
  intervalBytes?: number;
  /** Runs only when --conditions names it. */
  optIn?: boolean;
}

const CONDITIONS: Condition[] = [
  { key: 'plain', name: 'unprofiled (baseline)', kind: 'plain' },
  // A control, not run by default (--conditions inspect): the open inspector alone cost nothing
  // measurable in every run made (ratios 0.98 to 1.04 once pinned).
  { key: 'inspect', name: 'inspector open, no client', kind: 'inspect', optIn: true },
  { key: 'nodeprof-1ms', name: 'nodeprof attach --cpu, 1 ms', kind: 'nodeprof', intervalUs: 1000 },
  { key: 'nodeprof-10ms', name: 'nodeprof attach --cpu, 10 ms', kind: 'nodeprof', intervalUs: 10_000 },
  // top at its default rate, one window cut each second from a profiler it keeps running.
  { key: 'top', name: 'nodeprof top, 10 ms, refreshed each second', kind: 'top', intervalUs: 10_000 },
  { key: 'cpu-prof', name: 'node --cpu-prof, 1 ms (the floor)', kind: 'cpuprof', intervalUs: 1000 },
  { key: 'datadog-1ms', name: '@datadog/pprof time profiler in-process, 1 ms', kind: 'datadog', intervalUs: 1000 },
];

/** V8's default sampling interval for heap profiles (node --heap-prof, nodeprof, @datadog/pprof's usual setting). */
const HEAP_INTERVAL = 512 * 1024;
const HEAP_CONDITIONS: Condition[] = [
  { key: 'plain', name: 'unprofiled (baseline)', kind: 'plain' },
  { key: 'nodeprof-heap', name: 'nodeprof attach --heap, 512 KiB', kind: 'nodeprof-heap', intervalBytes: HEAP_INTERVAL },
  { key: 'heap-prof', name: 'node --heap-prof, 512 KiB (the floor)', kind: 'heapprof', intervalBytes: HEAP_INTERVAL },
  { key: 'datadog-heap', name: '@datadog/pprof heap profiler in-process, 512 KiB', kind: 'datadog-heap', intervalBytes: HEAP_INTERVAL },
];

interface RunResult {
  throughput: number;
  /** Work per CPU-second of the target process (all its threads): moves less than throughput when the machine is shared. */
  perCpu?: number;
  /** Share of the measured window the profiler covered (nodeprof: from its profile's times). */
  coverage?: number;
  problem?: string;
}

/** Whether @datadog/pprof loads and its time profiler starts here (it ships prebuilt binaries). */
export async function peerAvailable(): Promise<{ ok: boolean; detail: string }> {
  const code =
    "const p=require('@datadog/pprof');p.time.start({intervalMicros:1000,durationMillis:60000});const x=p.time.stop();console.log('ok '+require('@datadog/pprof/package.json').version)";
  const c = startNode('-e', { args: [code], cwd: ROOT });
  // startNode puts the script first: `node -e <code>` works as script '-e' with args [code].
  const r = await c.exited;
  const out = c.stdout().trim();
  if (r.code === 0 && out.startsWith('ok ')) return { ok: true, detail: `@datadog/pprof ${out.slice(3)}` };
  return {
    ok: false,
    detail: (
      c
        .stderr()
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ??
      c.stderr().trim().split('\n')[0] ??
      `exit ${r.code}`
    ).slice(0, 200),
  };
}

function nodeArgsFor(c: Condition, tmp: string): string[] {
  switch (c.kind) {
    case 'inspect':
    case 'nodeprof':
    case 'top':
    case 'nodeprof-heap':
      return ['--inspect=127.0.0.1:0'];
    case 'cpuprof':
      return ['--cpu-prof', `--cpu-prof-dir=${tmp}`, `--cpu-prof-interval=${c.intervalUs}`];
    case 'heapprof':
      return ['--heap-prof', `--heap-prof-dir=${tmp}`, `--heap-prof-interval=${c.intervalBytes}`];
    default:
      return [];
  }
}

/** CPU time (user + system, all threads) of a process so far, from /proc (NaN elsewhere). */
function cpuMsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; clock ticks are 100/s on Linux.
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Overlap of the profile's [start, end] with the measured window [t0, t1], as a share of the window. */
function coverage(file: string, t0: number, t1: number): number {
  const p = decodePprof(fs.readFileSync(file));
  const start = Number(p.timeNanos) / 1e6;
  const end = start + Number(p.durationNanos) / 1e6;
  return Math.max(0, Math.min(end, t1) - Math.max(start, t0)) / (t1 - t0);
}

type Fixture = 'cpu' | 'http';

async function runOnce(fixture: Fixture, c: Condition, o: P1Options): Promise<RunResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-'));
  const env =
    c.kind === 'datadog'
      ? { BENCH_DD_INTERVAL_US: String(c.intervalUs) }
      : c.kind === 'datadog-heap'
        ? { BENCH_DD_HEAP_INTERVAL_BYTES: String(c.intervalBytes) }
        : {};
  let target: Target | undefined;
  try {
    target = await startTarget(fixture === 'cpu' ? 'cpu-work.js' : 'http-server.js', { nodeArgs: nodeArgsFor(c, tmp), env });
    if (/peer-error/.test(target.stdout())) return { throughput: NaN, problem: target.stdout().split('peer-error ')[1]!.split('\n')[0] };
    const out = path.join(tmp, 'profile.pb.gz');
    // The warm-up starts once V8's profiler thread runs in the target (for --heap, once nodeprof
    // says its window started), so nodeprof's own start-up (P4) is not inside the window; after the
    // window a Ctrl-C (SIGINT) stops nodeprof, which then writes the profile, whose own times check
    // that it covered the window.
    const cli =
      c.kind === 'nodeprof'
        ? startCli(['attach', String(target.inspectPort), '--cpu', '10m', '--interval', `${c.intervalUs}us`, '-o', out])
        : c.kind === 'nodeprof-heap'
          ? startCli(['attach', String(target.inspectPort), '--heap', '--heap-window', '10m', '--heap-interval', `${c.intervalBytes! / 1024}KiB`, '-o', out])
          : c.kind === 'top'
            ? startCli(['top', String(target.inspectPort)], { terminal: true })
            : undefined;
    if (cli) {
      const failed = cli.exited.then((e) => Promise.reject(new Error(`nodeprof exited ${e.code} before profiling: ${cli.stderr().trim().split('\n').pop()}`)));
      failed.catch(() => undefined);
      await Promise.race([c.kind === 'nodeprof-heap' ? windowStarted(cli, 30_000) : cpuProfilerRunning(target.proc.pid!, 30_000), failed]);
    }
    let throughput: number;
    let perCpu: number | undefined;
    let t0: number;
    let t1: number;
    if (fixture === 'cpu') {
      target.send(`run ${o.warmUnits} ${o.measureMs}`);
      const m = await target.waitStdout(/result (\{.*\})\n/, o.measureMs + 180_000);
      const r = JSON.parse(m[1]!) as { units: number; ms: number; cpuMs: number; t0: number; t1: number };
      throughput = (r.units * 1000) / r.ms;
      perCpu = (r.units * 1000) / r.cpuMs;
      t0 = r.t0;
      t1 = r.t1;
    } else {
      const agent = newAgent(o.connections);
      try {
        const bounds = { port: target.httpPort, connections: o.connections, maxRequests: 500_000 };
        await runLoad(agent, { ...bounds, maxRequests: o.warmRequests, durationMs: 180_000 });
        t0 = Date.now();
        const cpu0 = cpuMsOf(target.proc.pid!);
        const r = await runLoad(agent, { ...bounds, durationMs: o.measureMs });
        const cpu1 = cpuMsOf(target.proc.pid!);
        t1 = t0 + r.ms;
        if (r.errors > 0) return { throughput: NaN, problem: `${r.errors} failed requests` };
        throughput = r.rps;
        perCpu = (r.ok * 1000) / (cpu1 - cpu0);
      } finally {
        agent.destroy();
      }
    }
    const result: RunResult = { throughput, perCpu };
    if (cli) {
      // top quits on q, typed into its terminal; attach stops on Ctrl-C and writes its profile.
      if (c.kind === 'top') cli.proc.stdin!.write('q');
      else cli.proc.kill('SIGINT');
      const done = await cli.exited;
      if (done.code !== 0) return { throughput: NaN, problem: `nodeprof exited ${done.code}: ${cli.stderr().trim().split('\n').pop()}` };
      if (c.kind !== 'top') result.coverage = coverage(out, t0, t1);
      else if (!/\d\.\d%\s+\d+\.\d%/.test(cli.stdout())) result.problem = 'top showed no table';
    }
    await stopTarget(target);
    if (c.kind === 'cpuprof' && !fs.readdirSync(tmp).some((f) => f.endsWith('.cpuprofile'))) result.problem = 'node --cpu-prof wrote no profile';
    if (c.kind === 'heapprof' && !fs.readdirSync(tmp).some((f) => f.endsWith('.heapprofile'))) result.problem = 'node --heap-prof wrote no profile';
    if (c.kind === 'datadog' || c.kind === 'datadog-heap') {
      const m = /peer (\{.*\})/.exec(target.stdout());
      const samples = m ? (JSON.parse(m[1]!) as { samples: number }).samples : 0;
      if (!(samples > 0)) result.problem = '@datadog/pprof recorded no samples';
    }
    return result;
  } finally {
    if (target && target.proc.exitCode === null) target.proc.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every condition on every fixture, o.rounds times, interleaved; `${fixture}/${key}` → one result per round. */
async function collectRuns(
  label: string,
  fixtures: readonly Fixture[],
  conds: Condition[],
  o: P1Options,
): Promise<{ runs: Map<string, RunResult[]>; placement: string }> {
  const { value, how } = await pinned(() => collectRunsUnpinned(label, fixtures, conds, o));
  o.log(`${label}: ${how}`);
  return { runs: value, placement: how };
}

async function collectRunsUnpinned(label: string, fixtures: readonly Fixture[], conds: Condition[], o: P1Options): Promise<Map<string, RunResult[]>> {
  const runs = new Map<string, RunResult[]>();
  for (let round = 0; round < o.rounds; round++) {
    for (const fixture of roundOrder(fixtures, round)) {
      for (const c of roundOrder(conds, round)) {
        const r = await runOnce(fixture, c, o).catch((err: Error) => ({ throughput: NaN, problem: err.message.split('\n')[0] }) as RunResult);
        o.log(
          `${label} ${fixture} round ${round + 1}/${o.rounds} ${c.key}: ${r.throughput.toFixed(1)}/s${r.coverage !== undefined ? ` coverage ${(100 * r.coverage).toFixed(0)}%` : ''}${r.problem ? ` (${r.problem})` : ''}`,
        );
        const k = `${fixture}/${c.key}`;
        runs.set(k, [...(runs.get(k) ?? []), r]);
      }
    }
  }
  return runs;
}

/** The rows of one fixture: each condition's throughput ratio to the baseline of its round; notes on failed and partial runs. */
function ratioRows(
  fixture: Fixture,
  conds: Condition[],
  runs: Map<string, RunResult[]>,
  prefix = '',
): { rows: Row[]; notes: string[]; ratioMedian: Map<string, number> } {
  const base = runs.get(`${fixture}/plain`)!;
  const rows: Row[] = [];
  const notes: string[] = [];
  const ratioMedian = new Map<string, number>();
  for (const c of conds) {
    const rs = runs.get(`${fixture}/${c.key}`)!;
    const tput = summarize(rs.map((r) => r.throughput));
    const s = summarize(rs.map((r, i) => r.throughput / base[i]!.throughput));
    ratioMedian.set(c.key, s.median);
    const unit = fixture === 'cpu' ? 'units/s' : 'req/s';
    rows.push({
      name: `${prefix}${c.name}`,
      unit: 'ratio',
      summary: s,
      extra: {
        // One fixture per table (P1a, P1b) names the unit in the header; both in one (P1c), in the cell.
        ...(prefix ? { 'median throughput': `${tput.median.toFixed(0)} ${unit}` } : { [`median ${unit}`]: tput.median.toFixed(0) }),
        'overhead (median)': c.kind === 'plain' ? '' : `${((1 - s.median) * 100).toFixed(1)}%`,
        'work per CPU-s ratio (median)': summarize(rs.map((r, i) => (r.perCpu ?? NaN) / (base[i]!.perCpu ?? NaN))).median.toFixed(3),
      },
    });
    const problems = rs.filter((r) => r.problem).map((r) => r.problem!);
    if (problems.length) notes.push(`${prefix}${c.name}: ${problems.length} run(s) failed: ${[...new Set(problems)].join('; ')}`);
    const partial = rs.filter((r) => r.coverage !== undefined && r.coverage < 0.999);
    if (partial.length) {
      notes.push(
        `${prefix}${c.name}: in ${partial.length} run(s) the profiler covered only ${partial.map((r) => `${(100 * r.coverage!).toFixed(0)}%`).join(', ')} of the measured window`,
      );
    }
  }
  return { rows, notes, ratioMedian };
}

/** P1c: the heap samplers (V8's sampling heap profiler in all three) on both targets, as one measure. */
export async function measureHeapOverhead(o: P1Options): Promise<Measure> {
  const peer = await peerAvailable();
  const conds = chosen(HEAP_CONDITIONS, o).filter((c) => c.kind !== 'datadog-heap' || peer.ok);
  if (conds.length === 1) return { id: 'P1c', title: '', status: 'skipped', reason: 'no heap condition in --conditions' };
  const fixtures = o.fixtures ?? (['cpu', 'http'] as const);
  const { runs, placement } = await collectRuns('P1c', fixtures, conds, o);
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const fixture of fixtures) {
    const r = ratioRows(fixture, conds, runs, fixture === 'cpu' ? 'CPU target: ' : 'HTTP target: ');
    rows.push(...r.rows);
    notes.push(...r.notes);
    const np = r.ratioMedian.get('nodeprof-heap');
    const floor = r.ratioMedian.get('heap-prof');
    if (np !== undefined && floor !== undefined && Number.isFinite(np) && Number.isFinite(floor)) {
      notes.push(
        `${fixture === 'cpu' ? 'CPU' : 'HTTP'} target: nodeprof --heap vs node --heap-prof: ${((floor - np) * 100).toFixed(1)} percentage points more overhead (median ratios ${np.toFixed(3)} vs ${floor.toFixed(3)}; negative means less).`,
      );
    }
  }
  if (!peer.ok) notes.push(`@datadog/pprof was not measured: it did not load here (${peer.detail}).`);
  else
    notes.push(
      `Peer: ${peer.detail}, \`heap.start(${HEAP_INTERVAL}, 64)\` in the target at process start; after the window it reads a profile (\`heap.profile()\`) and stops.`,
    );
  notes.push(`Placement: ${placement}.`);
  notes.push(
    `Same targets, load and windows as P1a/P1b (${o.warmUnits} units / ${o.warmRequests} requests of warm-up, ${o.measureMs} ms measured). nodeprof runs \`attach --heap --heap-window 10m\` (its default interval), the window starting before the warm-up, and is stopped with Ctrl-C after the measured window; the full GC it runs before reading the profile comes after the window. node --heap-prof samples from process start and writes at exit.`,
  );
  return {
    id: 'P1c',
    title: 'overhead of heap sampling (throughput ratio) vs node --heap-prof and @datadog/pprof heap',
    status: 'measured',
    method: `As P1a/P1b: a fresh target per condition, conditions interleaved, each throughput divided by the unprofiled target's in the same round; 1.000 means no cost. ${o.rounds} round(s).`,
    goal: 'nodeprof within 1 percentage point of node --heap-prof',
    rows,
    notes,
  };
}

export async function measureP1(o: P1Options): Promise<Measure[]> {
  const peer = await peerAvailable();
  o.log(`P1: peer profiler ${peer.ok ? peer.detail : `unavailable: ${peer.detail}`}`);
  const conds = chosen(CONDITIONS, o).filter((c) => c.kind !== 'datadog' || peer.ok);
  if (conds.length === 1) return [{ id: 'P1a', title: '', status: 'skipped', reason: 'no CPU profiler condition in --conditions' }];
  const fixtures = o.fixtures ?? (['cpu', 'http'] as const);
  const { runs, placement } = await collectRuns('P1', fixtures, conds, o);

  return fixtures.map((fixture): Measure => {
    const { rows, notes, ratioMedian } = ratioRows(fixture, conds, runs);
    const np = ratioMedian.get('nodeprof-1ms');
    const floor = ratioMedian.get('cpu-prof');
    if (np !== undefined && floor !== undefined && Number.isFinite(np) && Number.isFinite(floor)) {
      notes.push(
        `nodeprof at 1 ms vs node --cpu-prof: ${((floor - np) * 100).toFixed(1)} percentage points more overhead (median ratios ${np.toFixed(3)} vs ${floor.toFixed(3)}; negative means less).`,
      );
    }
    if (!peer.ok) notes.push(`@datadog/pprof was not measured: it did not load here (${peer.detail}).`);
    else
      notes.push(
        `Peer: ${peer.detail}, loaded from npm with its bundled prebuilt binary, started in the target at process start (\`time.start({ intervalMicros })\`) and stopped after the window.`,
      );
    notes.push(
      `"work per CPU-s ratio": units (requests) per CPU-second of the target process, every thread counted (V8's profiler thread too), against the baseline's; it moves less than throughput on a shared machine, but does not see time the target loses waiting for a core.${fixture === 'http' ? ' From /proc/<pid>/stat, 10 ms resolution.' : ''}`,
    );
    notes.push(`Placement: ${placement}.`);
    notes.push(
      fixture === 'cpu'
        ? `Target: bench/fixtures/cpu-work.js (a synthetic app of 320 functions in 10 files), units of work back to back with a setImmediate between them; a warm-up of ${o.warmUnits} units (work, not time, so the JIT is as warm in every condition), then units counted for ${o.measureMs} ms. nodeprof runs with \`--cpu 10m\` and is stopped with Ctrl-C (SIGINT) after the window, which makes it write what it collected.`
        : `Target: bench/fixtures/http-server.js on 127.0.0.1 (each request: app work + filter/sort/JSON of 50 items); load: ${o.connections} keep-alive connections from the bench process, one request at a time each, ${o.warmRequests} requests of warm-up then ${o.measureMs} ms measured, at most 500,000 requests.`,
    );
    return {
      id: fixture === 'cpu' ? 'P1a' : 'P1b',
      title:
        fixture === 'cpu'
          ? 'overhead on a CPU-bound target (throughput ratio, profiled / unprofiled)'
          : 'overhead on an HTTP target under loopback load (throughput ratio, profiled / unprofiled)',
      status: 'measured',
      method: `Each round starts a fresh target per condition (conditions interleaved, order rotated and reversed every round) and divides its throughput by the unprofiled target's in the same round; 1.000 means no cost. ${o.rounds} round(s).`,
      goal: 'nodeprof within 1 percentage point of node --cpu-prof',
      rows,
      notes,
    };
  });
}
