// P9S: what each scrape costs the target, in the target's own CPU time, on an idle target where
// nothing else spends any: P9's throughput ratios cannot resolve a few points on a shared machine
// (its A/A check reads 0.89-1.06), but a CPU-time count over many repetitions can. Per Node version,
// one warmed HTTP target: its CPU per second unprofiled; with serve attached and not scraped (the
// heap sampler); with the kept profiler running (after one window); then each of Alloy's jobs
// `reps` times in a row, its CPU per request net of the kept profiler's own rate. The same target
// then runs the peer (@datadog/pprof at dd-trace's defaults) idle, and the peer's export (what
// dd-trace does every 60 s) is timed. Busy targets cost more per CPU window (a bigger profile to
// serialize at the window's end: bench/window-end.mjs has that stall on a busy app).

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ask, cpuSecondsFine as cpuSeconds, nodeBinary, sleep, startTarget, stopTarget } from './lib/procs.js';
import { newAgent, runLoad } from './lib/load.js';
import type { Measure, Row } from './lib/report.js';
import { get, startServe } from './lib/serve.js';
import { summarize } from './lib/stats.js';

export interface P9SOptions {
  majors: string[];
  /** Requests per job. */
  reps: number;
  /** How long each idle rate is measured, ms. */
  idleMs: number;
  log(line: string): void;
}

/** Alloy's default jobs, the CPU one at 1 s (a window's fixed costs: its start, stop and answer). */
const JOBS = ['profile?seconds=1', 'allocs', 'goroutine', 'mutex', 'block', 'allocs?gc=1'];
const DD_INTERVAL_US = Math.round(1e6 / 99);
const DD_HEAP_BYTES = 512 * 1024;

/** The target's CPU time (ms) per second over `ms` of wall time. */
async function cpuRate(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return ((cpuSeconds(pid) - c0) * 1000) / ((performance.now() - t0) / 1000);
}

export async function measureP9S(o: P9SOptions): Promise<Measure> {
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const major of o.majors) {
    const node = nodeBinary(major);
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const label = `Node ${version.replace(/^v/, '')}`;
    const t = await startTarget('http-server.js', { node, nodeArgs: ['--inspect=127.0.0.1:0'] });
    const agent = newAgent(8);
    try {
      const pid = t.proc.pid!;
      await runLoad(agent, { port: t.httpPort, connections: 8, durationMs: 300_000, maxRequests: 5000 });
      await sleep(2000);
      const plain = await cpuRate(pid, o.idleMs);
      const serving = await startServe(t.inspectPort, ['--quiet']);
      let attached: number;
      let kept: number;
      const perJob = new Map<string, number[]>();
      try {
        await sleep(3000);
        attached = await cpuRate(pid, o.idleMs);
        const first = await get(serving.port, 'profile?seconds=1', 60_000);
        if (first.status !== 200) throw new Error(`profile: ${first.status} ${first.error ?? ''}`);
        await sleep(1000);
        kept = await cpuRate(pid, o.idleMs);
        for (const job of JOBS) {
          const ms: number[] = [];
          for (let r = 0; r < o.reps; r++) {
            const c0 = cpuSeconds(pid);
            const t0 = performance.now();
            const a = await get(serving.port, job, 60_000);
            if (a.status !== 200) throw new Error(`${job}: ${a.status} ${a.error ?? ''}`);
            // A little idle time after each answer, so work the answer leaves behind is counted.
            await sleep(200);
            const wallS = (performance.now() - t0) / 1000;
            ms.push((cpuSeconds(pid) - c0) * 1000 - kept * wallS);
          }
          perJob.set(job, ms);
          const s = summarize(ms);
          o.log(`P9S ${label} ${job}: ${s.median.toFixed(2)} ms of target CPU per request (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`);
        }
      } finally {
        serving.cli.proc.kill('SIGINT');
        await serving.cli.exited;
      }
      await sleep(2000);
      await ask(t, `dd-start ${DD_INTERVAL_US} ${DD_HEAP_BYTES} 3600000`, /dd started\n/);
      await sleep(3000);
      const dd = await cpuRate(pid, o.idleMs);
      const ddExport = Number((await ask(t, 'dd-stop', /dd stopped ([\d.]+)\n/))[1]);
      o.log(
        `P9S ${label}: idle target CPU ms/s unprofiled ${plain.toFixed(2)}, serve attached ${attached.toFixed(2)}, kept profiler ${kept.toFixed(2)}, @datadog/pprof ${dd.toFixed(2)}; its export ${ddExport.toFixed(1)} ms`,
      );
      const rate = (name: string, v: number) => rows.push({ name: `${label}, idle target: ${name}`, unit: 'ms CPU/s', summary: summarize([v]) });
      rate('unprofiled', plain);
      rate('serve attached, not scraped (heap sampler)', attached);
      rate('serve with its kept CPU profiler (100 Hz) and heap sampler', kept);
      rate('@datadog/pprof at dd-trace defaults (99 Hz, heap 512 KiB)', dd);
      for (const [job, ms] of perJob) rows.push({ name: `${label}, idle target: ${job}, target CPU per request`, unit: 'ms', summary: summarize(ms) });
      rows.push({ name: `${label}, idle target: @datadog/pprof export (time + heap, encoded), main thread`, unit: 'ms', summary: summarize([ddExport]) });
      // Alloy's period: one CPU window, one allocs (a forced read one time in four: 60 s), one each of the rest.
      const med = (job: string) => summarize(perJob.get(job)!).median;
      const per15 = med('profile?seconds=1') + 0.75 * med('allocs') + 0.25 * med('allocs?gc=1') + med('goroutine') + med('mutex') + med('block');
      notes.push(
        `${label}: one period of Alloy's default jobs (every 15 s: a CPU window, allocs answered from the last read three times in four and read once a minute, goroutine, mutex, block) costs the idle target ${per15.toFixed(1)} ms of CPU, ${((per15 / 15_000) * 100).toFixed(3)} % of a core; serve's continuous cost (kept profiler and heap sampler) ${(kept - plain).toFixed(2)} ms/s (${((kept - plain) / 10).toFixed(2)} %), the peer's ${(dd - plain).toFixed(2)} ms/s (${((dd - plain) / 10).toFixed(2)} %) plus its export every 60 s (${((ddExport / 60_000) * 100).toFixed(3)} %).`,
      );
    } finally {
      agent.destroy();
      await stopTarget(t).catch(() => t.proc.kill('SIGKILL'));
    }
  }
  return {
    id: 'P9S',
    title: "what each scrape costs the target, in its own CPU time (idle target), against @datadog/pprof's continuous cost",
    status: 'measured',
    method: `Per Node version one HTTP target, warmed with 5000 requests, then idle: its CPU (/proc/<pid>/task/*/schedstat, every thread, ns) per second over ${o.idleMs / 1000} s unprofiled, with serve attached (its heap sampler), with serve's kept CPU profiler running; then each job ${o.reps} times in a row (each request, then 200 ms, counted), its target CPU net of the kept-profiler rate; then the same target with @datadog/pprof started (99 Hz, 512 KiB) over ${o.idleMs / 1000} s, and the peer's export at its stop. ${path.basename(import.meta.url)}.`,
    goal: 'none: an accounting of where serve spends the target CPU, to read against P9',
    rows,
    notes,
  };
}
