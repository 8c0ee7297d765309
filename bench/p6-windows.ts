// P6 (windows): what concurrent CPU windows cost the target, and what the serve's bound makes of
// concurrent profile requests (issue 27, defect 3). Two parts on bench/fixtures/http-server.js,
// loaded by runLoad's keep-alive clients throughout:
//  a. k independent V8 profilers (k inspector sessions, each Profiler.start at 1 ms, as serve did
//     for k concurrent requests before the bound): the target's throughput while they run, against
//     a window with none. This is what MAX_CPU_WINDOWS is chosen from.
//  b. 1, 4, 16 and 40 concurrent profile?seconds=S through `nodeprof serve`: the answers (200 /
//     503), the most v8:ProfEvntProc threads seen at once in the target, and its throughput.

import fs from 'node:fs';
import { connectWebSocket } from '../src/target/remote.js';
import { findInspectorTarget } from '../src/target/discover.js';
import type { CdpSession } from '../src/target/session.js';
import { newAgent, runLoad, type LoadResult } from './lib/load.js';
import { exitedWithin, profilerThreads, sleep, startTarget, stopTarget } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { get, startServe } from './lib/serve.js';
import { summarize } from './lib/stats.js';

export interface P6WindowsOptions {
  /** Length of each window (and of each load measurement), seconds. */
  seconds: number;
  /** Independent profilers at once, for part a. */
  profilers: number[];
  /** Concurrent profile requests through serve, for part b. */
  requests: number[];
  rounds: number;
  connections: number;
  log(line: string): void;
}

/** CPU time the process has used (user + system), ms; NaN where /proc is not there. */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

interface Window {
  rps: number;
  /** The target's CPU time per request served, µs: what a profiler adds, whatever else the machine runs. */
  cpuUsPerRequest: number;
}

function watchThreads(pid: number): () => number {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, profilerThreads(pid) || 0)), 25);
  return () => (clearInterval(timer), max);
}

export async function measureP6Windows(o: P6WindowsOptions): Promise<Measure> {
  const target = await startTarget('http-server.js', { nodeArgs: ['--inspect=127.0.0.1:0'] });
  const agent = newAgent(o.connections);
  const pid = target.proc.pid!;
  const load = async (): Promise<Window> => {
    const c0 = cpuMs(pid);
    const r: LoadResult = await runLoad(agent, { port: target.httpPort, connections: o.connections, durationMs: o.seconds * 1000, maxRequests: 1e9 });
    return { rps: r.rps, cpuUsPerRequest: ((cpuMs(pid) - c0) * 1000) / Math.max(1, r.ok) };
  };
  const rows: Row[] = [];
  const notes: string[] = [];
  let serving: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    await load(); // warm-up: the first seconds of a fresh target run slower
    const baseline: Window[] = [];
    // a. k profilers at once, each on a session of its own; a baseline window before each.
    const where = `127.0.0.1:${target.inspectPort}`;
    const rel = new Map<number, number[]>();
    const rps = new Map<number, number[]>();
    const cpuRel = new Map<number, number[]>();
    for (let round = 0; round < o.rounds; round++) {
      for (const k of o.profilers) {
        const base = await load();
        baseline.push(base);
        const sessions: CdpSession[] = [];
        try {
          for (let i = 0; i < k; i++)
            sessions.push(await connectWebSocket((await findInspectorTarget('127.0.0.1', target.inspectPort)).webSocketDebuggerUrl, where));
          await Promise.all(
            sessions.map(
              async (s) => (await s.send('Profiler.enable'), await s.send('Profiler.setSamplingInterval', { interval: 1000 }), await s.send('Profiler.start')),
            ),
          );
          const threads = profilerThreads(target.proc.pid!);
          const under = await load();
          await Promise.all(sessions.map((s) => s.send('Profiler.stop')));
          rel.set(k, [...(rel.get(k) ?? []), under.rps / base.rps]);
          cpuRel.set(k, [...(cpuRel.get(k) ?? []), under.cpuUsPerRequest / base.cpuUsPerRequest]);
          rps.set(k, [...(rps.get(k) ?? []), under.rps]);
          o.log(
            `P6b ${k} profiler(s) (${threads} threads): ${under.rps.toFixed(0)} req/s against ${base.rps.toFixed(0)} without (${((under.rps / base.rps) * 100).toFixed(0)}%); CPU per request ${under.cpuUsPerRequest.toFixed(0)} µs against ${base.cpuUsPerRequest.toFixed(0)} (${((under.cpuUsPerRequest / base.cpuUsPerRequest) * 100).toFixed(0)}%)`,
          );
        } finally {
          await Promise.all(sessions.map((s) => s.close()));
        }
      }
    }
    rows.push({ name: 'target throughput, no profiler (baseline windows)', unit: 'req/s', summary: summarize(baseline.map((b) => b.rps)) });
    rows.push({ name: 'target CPU time per request, no profiler (baseline windows)', unit: 'µs', summary: summarize(baseline.map((b) => b.cpuUsPerRequest)) });
    for (const k of o.profilers) {
      rows.push({
        name: `target CPU time per request under ${k} independent V8 profiler${k === 1 ? '' : 's'}, relative to the window before`,
        unit: '×',
        summary: summarize(cpuRel.get(k)!),
      });
      rows.push({
        name: `target throughput under ${k} independent V8 profiler${k === 1 ? '' : 's'}, relative to the window before`,
        unit: '×',
        summary: summarize(rel.get(k)!),
        extra: { 'req/s (median)': summarize(rps.get(k)!).median.toFixed(0) },
      });
    }

    // b. through serve, with its bound.
    serving = await startServe(target.inspectPort, ['--quiet']);
    for (const n of o.requests) {
      const relB: number[] = [];
      const cpuB: number[] = [];
      const statuses: Record<string, number> = {};
      let maxThreads = 0;
      let slowest = 0;
      for (let round = 0; round < o.rounds; round++) {
        const base = await load();
        const stopWatch = watchThreads(target.proc.pid!);
        const [answers, under] = await Promise.all([
          Promise.all(Array.from({ length: n }, () => get(serving!.port, `profile?seconds=${o.seconds}`, 60_000 + o.seconds * 1000))),
          load(),
        ]);
        maxThreads = Math.max(maxThreads, stopWatch());
        relB.push(under.rps / base.rps);
        cpuB.push(under.cpuUsPerRequest / base.cpuUsPerRequest);
        for (const a of answers) {
          const k = a.status ? String(a.status) : 'no answer';
          statuses[k] = (statuses[k] ?? 0) + 1;
          slowest = Math.max(slowest, a.ms);
        }
        // the next round starts with no window running
        for (let i = 0; i < 200 && profilerThreads(target.proc.pid!) > 0; i++) await sleep(25);
      }
      const fmt = Object.entries(statuses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      o.log(
        `P6b ${n} concurrent profile?seconds=${o.seconds} via serve: ${fmt}; at most ${maxThreads} profiler threads; throughput ${(summarize(relB).median * 100).toFixed(0)}%, CPU per request ${(summarize(cpuB).median * 100).toFixed(0)}% of the window before`,
      );
      rows.push({
        name: `${n} concurrent profile?seconds=${o.seconds} through serve: target throughput relative to the window before`,
        unit: '×',
        summary: summarize(relB),
        extra: { answers: fmt, 'most profiler threads at once': String(maxThreads), 'slowest answer': `${(slowest / 1000).toFixed(1)} s` },
      });
      rows.push({
        name: `${n} concurrent profile?seconds=${o.seconds} through serve: target CPU time per request relative to the window before`,
        unit: '×',
        summary: summarize(cpuB),
      });
    }
    notes.push(
      `Target: bench/fixtures/http-server.js with \`--inspect=127.0.0.1:0\`, loaded by ${o.connections} keep-alive connections for ${o.seconds} s per window (a warm-up window first). Each measured window is compared with the window just before it, with nothing running, so a drift of the shared machine cancels out.`,
      'Independent profilers: k inspector sessions opened from the bench process, each Profiler.enable / setSamplingInterval 1 ms / start (what serve did per request before the bound), stopped after the window.',
      "CPU time per request (utime + stime of the target from /proc/<pid>/stat, over the requests it served in the window) is the steadier figure on a shared machine: throughput moves with whatever else runs, the CPU a request costs much less. The profiler thread's own CPU counts, as it should.",
      'Through serve: answers and the most v8:ProfEvntProc threads seen at once in /proc/<pid>/task (polled every 25 ms) while the requests ran.',
    );
    return {
      id: 'P6b',
      title: `concurrent CPU windows: the target's cost of k profilers, and serve's bound (${o.requests.join(', ')} concurrent requests)`,
      status: 'measured',
      method: `${o.rounds} round(s); throughput of the target under each, relative to a window without.`,
      goal: 'bounded cost whatever the number of requests',
      rows,
      notes,
    };
  } finally {
    agent.destroy();
    if (serving) {
      serving.cli.proc.kill('SIGINT');
      if (!(await exitedWithin(serving.cli, 15_000))) serving.cli.proc.kill('SIGKILL');
    }
    await stopTarget(target);
  }
}
