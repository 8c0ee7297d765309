// P9: the cost of continuous profiling as users run it: attached for good. Per Node version and
// fixture, one target per condition (all pinned to the same core, warmed alike): unprofiled;
// `nodeprof serve` attached once and scraped by Grafana Alloy's default jobs for the whole run
// (profile?seconds=period-1, allocs, goroutine, mutex, block, started together, then each job on
// its own loop every period, never two of one job at once); the peer, @datadog/pprof in-process at
// dd-trace-js's defaults (time profiler at 1e6/99 µs, heap sampler at 512 KiB / 64 frames,
// exported and restarted every 60 s), started once. The targets work in turn, one window of one
// period at a time, the order rotated and reversed each round, so each round's windows share the
// machine's state of the moment and a ratio against the round's unprofiled window is paired; the
// targets not measured sit idle (still profiled and scraped). After attaching, every target works
// DROP_PERIODS periods unmeasured: that covers what serve does once per attachment (on Node 22+
// the kept profiler's one JIT reset and the re-warm after it, a few seconds; source maps; the
// address book), the peer's start, and the rest of each target's own warm-up; hours of profiling
// make those negligible. A window of one period holds one CPU window's end (V8 serializing the
// profile on the target's main thread) and one set of the other answers, as under Alloy.
// Crossover (the default): two processes of one fixture differ by up to 10 % on this machine
// whatever profiles them, which one target per condition would charge to the condition. So the run
// has one phase per condition, and in each phase every target process takes another condition
// (serve detached, the peer stopped and the next one profiled between phases, with DROP_PERIODS
// again): every process runs every condition once, and its speed weighs on all of them alike.
// "plain-b", a second unprofiled target, says how far two processes of the same fixture differ
// (an A/A check of the method); "serve-base" runs serve from another build (--p9-base), for a
// before/after in one run; "serve-cpuonly" (the profile job alone), "serve-allocs" and
// "serve-goroutine" (the profile job and one other) and "serve-idle" (attached, not scraped: its
// heap sampler alone) split serve's cost; "cpu-prof" is V8's CPU profiler alone at serve's 100 Hz,
// started in-process as `node --cpu-prof` does and never read: the floor any 100 Hz V8 profiler
// sets, whoever reads it; "heap-prof" the same for V8's sampling heap profiler at 512 KiB.
// "serve-heap4m" is serve with its heap sampler at 4 MiB instead of 512 KiB (--heap-interval).
// "dd-heap" is the peer's heap sampler alone, to compare with heap-prof (the inspector's).

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { newAgent, runLoad } from './lib/load.js';
import { ask, cpuSeconds, nodeBinary, pinned, startTarget, stopTarget, type Target } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { get, startServe, type Serving } from './lib/serve.js';
import { roundOrder, summarize } from './lib/stats.js';

export interface P9Options {
  /** Node majors the targets run on (the bench's own node for its major, else scripts/fetch-node.js). */
  majors: string[];
  fixtures: ReadonlyArray<'cpu' | 'http'>;
  /** Measured rounds in all (with crossover: split evenly over the phases, at least one each). */
  rounds: number;
  /**
   * Crossover: as many phases as conditions, each target taking every condition once (serve
   * detached and the peer stopped between phases), so a target process that happens to be faster
   * than another does not bias a condition (the A/A check read 0.90-1.06 with one process each).
   */
  crossover: boolean;
  /** The scrape loop's period, s (Alloy: 15); a window is one period. */
  periodS: number;
  conditions: Condition[];
  warmUnits: number;
  warmRequests: number;
  connections: number;
  /** serve-base: another build of nodeprof (a directory with its bin/nodeprof.js), for before/after. */
  baseDir?: string;
  log(line: string): void;
}

/** serve-1ms: serve at the sampling rate it had before 100 Hz became its default. */
export type Condition =
  | 'plain'
  | 'plain-b'
  | 'cpu-prof'
  | 'heap-prof'
  | 'serve'
  | 'serve-base'
  | 'serve-cpuonly'
  | 'serve-allocs'
  | 'serve-goroutine'
  | 'serve-1ms'
  | 'serve-nojit'
  | 'serve-idle'
  | 'serve-heap4m'
  | 'dd'
  | 'dd-heap';
export const P9_CONDITIONS: readonly Condition[] = [
  'plain',
  'plain-b',
  'cpu-prof',
  'heap-prof',
  'serve',
  'serve-base',
  'serve-cpuonly',
  'serve-allocs',
  'serve-goroutine',
  'serve-1ms',
  'serve-nojit',
  'serve-idle',
  'serve-heap4m',
  'dd',
  'dd-heap',
];
/** serve's arguments per condition. */
const SERVE_ARGS: Partial<Record<Condition, string[]>> = {
  serve: [],
  'serve-base': [],
  'serve-cpuonly': [],
  'serve-allocs': [],
  'serve-goroutine': [],
  'serve-1ms': ['--cpu-interval', '1ms'],
  'serve-nojit': ['--no-jit-reset'],
  'serve-idle': [],
  'serve-heap4m': ['--heap-interval', '4MiB'],
};
const NAMES: Record<Condition, string> = {
  plain: 'unprofiled',
  'plain-b': 'a second unprofiled target (A/A)',
  'cpu-prof': "V8's CPU profiler alone at 100 Hz, kept running, never read (node --cpu-prof's)",
  'heap-prof': "V8's sampling heap profiler alone at 512 KiB, kept running, never read (node --heap-prof's)",
  serve: 'nodeprof serve (100 Hz default) + Alloy loop',
  'serve-base': 'nodeprof serve of the --p9-base build + Alloy loop',
  'serve-cpuonly': 'nodeprof serve + the profile job alone',
  'serve-allocs': 'nodeprof serve + the profile and allocs jobs',
  'serve-goroutine': 'nodeprof serve + the profile and goroutine jobs',
  'serve-1ms': 'nodeprof serve --cpu-interval 1ms + Alloy loop',
  'serve-nojit': 'nodeprof serve --no-jit-reset + Alloy loop',
  'serve-idle': 'nodeprof serve attached, not scraped (its heap sampler only)',
  'serve-heap4m': 'nodeprof serve --heap-interval 4MiB + Alloy loop',
  dd: '@datadog/pprof at dd-trace defaults (99 Hz, heap 512 KiB)',
  'dd-heap': "@datadog/pprof's heap sampler alone (512 KiB, 64 frames)",
};
const DD_INTERVAL_US = Math.round(1e6 / 99);
const DD_HEAP_BYTES = 512 * 1024;
const DD_RESTART_MS = 60_000;
/** cpu-prof: the sampling interval of V8's profiler run alone, µs (serve's default rate). */
const CPU_PROF_US = 10_000;
/** heap-prof: the sampling interval of V8's heap sampler run alone, bytes (serve's and the peer's). */
const HEAP_PROF_BYTES = 512 * 1024;
/** Conditions scraped by the profile job and at most one other ('' : the profile job alone). */
const ONLY_JOB: Partial<Record<Condition, string>> = { 'serve-cpuonly': '', 'serve-allocs': 'allocs', 'serve-goroutine': 'goroutine' };
/** Periods each target works, unmeasured, once profiled: see runTarget. */
const DROP_PERIODS = 3;

interface Window {
  /** Units/s (CPU target) or requests/s (HTTP target). */
  rate: number;
  /** The target's event-loop delay p99 over the window, ms. */
  eldP99: number;
  /** Request latency p99, ms (HTTP target). */
  p99?: number;
  /** Units or requests per CPU-second of the target (all its threads, V8's profiler thread included). */
  perCpuS: number;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

/** Sleeps ms, or less if `signal` aborts meanwhile. */
function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Alloy's default jobs: started together, each then on its own loop. */
export const jobs = (periodS: number) => [`profile?seconds=${periodS - 1}`, 'allocs', 'goroutine', 'mutex', 'block'];

/**
 * Alloy's scrape loops against one serve, one per job as a Prometheus-style scraper runs them: a
 * job's scrape starts every period, or as soon as its last one answered if that took longer (never
 * two of one job at once). Non-200 answers are kept as failures.
 */
function scrapeLoop(port: number, periodS: number, only?: string): { failures: string[]; stop(): Promise<void> } {
  const failures: string[] = [];
  let stopped = false;
  const wake = new AbortController();
  const loops = jobs(periodS)
    .filter((job, n) => only === undefined || n === 0 || job === only)
    .map(async (job) => {
      while (!stopped) {
        const t0 = Date.now();
        const a = await get(port, job, (periodS + 10) * 1000);
        if (a.status !== 200 && !stopped) failures.push(`${job}: ${a.status} ${a.error ?? ''}`.trim());
        const wait = periodS * 1000 - (Date.now() - t0);
        if (wait > 0 && !stopped) await sleepUnless(wait, wake.signal);
      }
    });
  return {
    failures,
    async stop() {
      stopped = true;
      wake.abort();
      await Promise.all(loops);
    },
  };
}

/** One target process (a slot of the crossover) and what profiles it in the current phase. */
interface Instance {
  slot: number;
  t: Target;
  c: Condition;
  serving?: Serving;
  loop?: ReturnType<typeof scrapeLoop>;
}

/** The condition of `slot` in `phase`: each slot takes every condition once over the phases. */
export const crossoverCondition = (conditions: readonly Condition[], slot: number, phase: number): Condition => conditions[(slot + phase) % conditions.length]!;

async function runTarget(
  major: string,
  fixture: 'cpu' | 'http',
  o: P9Options,
): Promise<{ version: string; runs: Map<Condition, Window[]>; phaseOf: number[]; ddExportMs: number[] }> {
  const node = nodeBinary(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const runs = new Map<Condition, Window[]>(o.conditions.map((c) => [c, []]));
  /** The phase of each round (index into every condition's window list). */
  const phaseOf: number[] = [];
  const ddExportMs: number[] = [];
  const agent = newAgent(o.connections);
  const windowMs = o.periodS * 1000;
  const instances: Instance[] = [];
  const phases = o.crossover ? o.conditions.length : 1;
  const roundsPerPhase = o.crossover ? Math.max(1, Math.ceil(o.rounds / phases)) : o.rounds;
  const measure = async (t: Target, ms: number): Promise<Window> => {
    await ask(t, 'eld-reset', /eld reset\n/);
    const cpu0 = cpuSeconds(t.proc.pid!);
    let w: Omit<Window, 'eldP99' | 'perCpuS'>;
    let work: number;
    if (fixture === 'cpu') {
      const m = await ask(t, `run 0 ${ms}`, /result (\{.*\})\n/, ms + 120_000);
      const r = JSON.parse(m[1]!) as { units: number; ms: number };
      w = { rate: (r.units * 1000) / r.ms };
      work = r.units;
    } else {
      const latencies: number[] = [];
      const r = await runLoad(agent, { port: t.httpPort, connections: o.connections, durationMs: ms, maxRequests: 10_000_000, latencies });
      if (r.errors > 0) throw new Error(`${r.errors} failed requests`);
      w = { rate: r.rps, p99: percentile(latencies, 99) };
      work = r.ok;
    }
    const cpuS = cpuSeconds(t.proc.pid!) - cpu0;
    const eld = JSON.parse((await ask(t, 'eld-read', /eld (\{.*\})\n/))[1]!) as { p99: number };
    return { ...w, eldP99: eld.p99, perCpuS: work / cpuS };
  };
  const checkLoop = (i: Instance) => {
    if (i.loop?.failures.length) throw new Error(`scrapes failed (${i.c}): ${i.loop.failures.join('; ')}`);
  };
  // Profiled for the phase: serve attached with its scrape loop running, or the peer started.
  const profile = async (i: Instance) => {
    if (i.c === 'dd') await ask(i.t, `dd-start ${DD_INTERVAL_US} ${DD_HEAP_BYTES} ${DD_RESTART_MS}`, /dd started\n/);
    if (i.c === 'dd-heap') await ask(i.t, `dd-start 0 ${DD_HEAP_BYTES} ${DD_RESTART_MS}`, /dd started\n/);
    if (i.c === 'cpu-prof') await ask(i.t, `inproc-start ${CPU_PROF_US}`, /inproc started\n/);
    if (i.c === 'heap-prof') await ask(i.t, `inproc-heap-start ${HEAP_PROF_BYTES}`, /inproc started\n/);
    const args = SERVE_ARGS[i.c];
    if (!args) return;
    if (i.c === 'serve-base' && !o.baseDir) throw new Error('serve-base needs --p9-base <dir of another build>');
    const cli = i.c === 'serve-base' ? path.join(o.baseDir!, 'bin/nodeprof.js') : undefined;
    i.serving = await startServe(i.t.inspectPort, ['--quiet', ...args], 60_000, cli);
    if (i.c !== 'serve-idle') i.loop = scrapeLoop(i.serving.port, o.periodS, ONLY_JOB[i.c]);
  };
  // The phase is over: serve detached (it stops its profiler and sampler), the peer stopped.
  const unprofile = async (i: Instance) => {
    await i.loop?.stop();
    checkLoop(i);
    i.loop = undefined;
    if (i.serving) {
      i.serving.cli.proc.kill('SIGINT');
      await i.serving.cli.exited;
      i.serving = undefined;
    }
    if (i.c === 'cpu-prof') await ask(i.t, 'inproc-stop', /inproc stopped \d+\n/, 300_000);
    if (i.c === 'heap-prof') await ask(i.t, 'inproc-heap-stop', /inproc stopped \d+\n/, 300_000);
    if (i.c === 'dd-heap') await ask(i.t, 'dd-stop', /dd stopped ([\d.]+)\n/);
    if (i.c === 'dd') ddExportMs.push(Number((await ask(i.t, 'dd-stop', /dd stopped ([\d.]+)\n/))[1]));
  };
  try {
    // One target per slot, all on the targets' CPU, each warmed the same way.
    for (let slot = 0; slot < o.conditions.length; slot++) {
      const t = await startTarget(fixture === 'cpu' ? 'cpu-work.js' : 'http-server.js', { node, nodeArgs: ['--inspect=127.0.0.1:0'] });
      instances.push({ slot, t, c: o.conditions[slot]! });
      if (fixture === 'cpu') await ask(t, `run ${o.warmUnits} 1`, /result (\{.*\})\n/, 300_000);
      else await runLoad(agent, { port: t.httpPort, connections: o.connections, durationMs: 300_000, maxRequests: o.warmRequests });
    }
    for (let phase = 0; phase < phases; phase++) {
      for (const i of instances) {
        i.c = crossoverCondition(o.conditions, i.slot, phase);
        await profile(i);
      }
      // Dropped: what serve does once per attachment (the kept profiler's JIT reset on Node 22+ and
      // the target's re-warm after it, source maps through Debugger.enable, the address book), the
      // peer's start, and the re-warm of a target whose profiler just went away. Every target works
      // DROP_PERIODS periods, in turn, before the phase's measured rounds.
      for (const i of instances) {
        await measure(i.t, DROP_PERIODS * windowMs);
        checkLoop(i);
      }
      for (let r = 0; r < roundsPerPhase; r++) {
        const round = phase * roundsPerPhase + r;
        phaseOf.push(phase);
        for (const c of roundOrder(o.conditions, round)) {
          const i = instances.find((x) => x.c === c)!;
          const w = await measure(i.t, windowMs);
          checkLoop(i);
          runs.get(c)!.push(w);
          o.log(
            `P9 node ${major} ${fixture} phase ${phase + 1}/${phases} round ${round + 1}/${phases * roundsPerPhase} ${c} (target ${i.slot + 1}): ${w.rate.toFixed(1)}/s, ${w.perCpuS.toFixed(1)}/CPU-s, loop delay p99 ${w.eldP99.toFixed(1)} ms${w.p99 === undefined ? '' : `, request p99 ${w.p99.toFixed(1)} ms`}`,
          );
        }
      }
      for (const i of instances) await unprofile(i);
    }
    for (const i of instances) await stopTarget(i.t);
    return { version, runs, phaseOf, ddExportMs };
  } finally {
    agent.destroy();
    for (const i of instances) {
      void i.loop?.stop();
      if (i.serving && i.serving.cli.proc.exitCode === null) i.serving.cli.proc.kill('SIGKILL');
      if (i.t.proc.exitCode === null) i.t.proc.kill('SIGKILL');
    }
  }
}

const pct = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)}%`;

export async function measureP9(o: P9Options): Promise<Measure> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const loadAtStart = os.loadavg();
  const { value: results, how } = await pinned(async () => {
    const r: Array<{ major: string; fixture: 'cpu' | 'http' } & Awaited<ReturnType<typeof runTarget>>> = [];
    for (const major of o.majors) for (const fixture of o.fixtures) r.push({ major, fixture, ...(await runTarget(major, fixture, o)) });
    return r;
  });
  const loadAtEnd = os.loadavg();
  for (const { version, fixture, runs, phaseOf, ddExportMs } of results) {
    const label = `Node ${version.replace(/^v/, '')}, ${fixture === 'cpu' ? 'CPU' : 'HTTP'} target`;
    const base = runs.get('plain')!;
    for (const c of o.conditions) {
      if (c === 'plain') continue;
      const ws = runs.get(c)!;
      const ratio = summarize(ws.map((w, i) => w.rate / base[i]!.rate));
      const addedEld = summarize(ws.map((w, i) => w.eldP99 - base[i]!.eldP99));
      // Each phase pairs the condition's target with another unprofiled one: the phases' medians
      // show how much of the spread is which process ran what.
      const phases = [...new Set(phaseOf)].map((p) => summarize(ws.flatMap((w, i) => (phaseOf[i] === p ? [w.rate / base[i]!.rate] : []))).median);
      const extra: Record<string, string> = {
        'overhead (median)': pct(ratio.median),
        ...(phases.length > 1 ? { 'median per phase': phases.map((x) => x.toFixed(3)).join(', ') } : {}),
        'added loop delay p99, ms (median)': addedEld.median.toFixed(1),
      };
      if (fixture === 'http') extra['added request p99, ms (median)'] = summarize(ws.map((w, i) => w.p99! - base[i]!.p99!)).median.toFixed(1);
      rows.push({ name: `${label}: ${NAMES[c]} / unprofiled`, unit: 'ratio', summary: ratio, extra });
      const eff = summarize(ws.map((w, i) => w.perCpuS / base[i]!.perCpuS));
      rows.push({
        name: `${label}: ${NAMES[c]}, work per CPU-second / unprofiled`,
        unit: 'ratio',
        summary: eff,
        extra: { 'overhead (median)': pct(eff.median) },
      });
    }
    if (o.conditions.includes('serve') && o.conditions.includes('dd')) {
      const serve = runs.get('serve')!;
      const dd = runs.get('dd')!;
      rows.push({
        name: `${label}: serve minus @datadog/pprof, points of throughput (paired by round; positive: serve cost less)`,
        unit: 'pp',
        summary: summarize(serve.map((w, i) => ((w.rate - dd[i]!.rate) / base[i]!.rate) * 100)),
      });
    }
    const plainEld = summarize(base.map((w) => w.eldP99));
    notes.push(
      `${label}: unprofiled loop delay p99 ${plainEld.median.toFixed(1)} ms (median; ${plainEld.min.toFixed(1)} to ${plainEld.max.toFixed(1)})${fixture === 'http' ? `, request p99 ${summarize(base.map((w) => w.p99!)).median.toFixed(1)} ms` : ''}.`,
    );
    if (ddExportMs.length) {
      const e = summarize(ddExportMs);
      notes.push(
        `${label}: @datadog/pprof's export (time.stop + encode, heap.profile + encode, on the main thread) took ${e.median.toFixed(1)} ms at its stop after the last round (dd-trace does it every 60 s, ${((e.median / DD_RESTART_MS) * 100).toFixed(3)}% of the time; the exports during the run fall in the measured windows in proportion to the time measured).`,
      );
    }
  }
  notes.push(
    `Load average (1, 5, 15 min) at P9's start ${loadAtStart.map((x) => x.toFixed(2)).join(', ')}, at its end ${loadAtEnd.map((x) => x.toFixed(2)).join(', ')} (${os.cpus().length} cores, shared).`,
  );
  notes.push(`Placement: ${how}.`);
  if (o.periodS !== 15)
    notes.push(
      `The scrape loop runs every ${o.periodS} s (profile?seconds=${o.periodS - 1}) instead of Alloy's 15 s, to fit the run in minutes: each window holds one CPU window's end (V8 serializing the profile) and one set of the other answers, ${(15 / o.periodS).toFixed(1)} times as often as under Alloy, so the serve rows are pessimistic for serve.`,
    );
  return {
    id: 'P9',
    title: 'cost of continuous profiling: serve attached and scraped for good, and @datadog/pprof, windows alternated between one target per condition',
    status: 'measured',
    method: `Per Node version and fixture, one target process per condition, pinned to one core, warmed alike; ${o.crossover ? `crossover: ${o.conditions.length} phases, in each every target takes another condition (target k runs conditions[(k + phase) mod ${o.conditions.length}]), so each process runs every condition once and a fast or slow process weighs on all conditions alike; ` : ''}in a phase serve is attached once per served target and scraped by the loop (profile?seconds=${o.periodS - 1}, allocs, goroutine, mutex, block, started together, each job every ${o.periodS} s or when its last answer came if later) for the whole phase, the peer started once, and both stopped at the phase's end; each target then works ${DROP_PERIODS} periods unmeasured (serve's once-per-attachment work: on Node 22+ the kept profiler's JIT reset and the re-warm; the peer's start; the re-warm after a profiler went away); then ${o.crossover ? `${Math.max(1, Math.ceil(o.rounds / o.conditions.length))} rounds per phase` : `${o.rounds} rounds`} of one ${o.periodS} s window per target (${o.conditions.join(', ')}), the order rotated and reversed every round, the others idle meanwhile; ratios against the round's unprofiled window. Loop delay: perf_hooks.monitorEventLoopDelay (10 ms resolution) in the target over the window. Work per CPU-second: the window's units or requests over the target's CPU time (/proc, every thread), which a machine shared with other work disturbs far less than throughput does.`,
    goal: 'serve + scraper >= 0.98 of unprofiled (median), no worse than @datadog/pprof; added loop delay p99 < 10 ms',
    rows,
    notes,
  };
}
