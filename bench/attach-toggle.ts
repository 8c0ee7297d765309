// What being profiled at all costs a busy HTTP target, serve against the peer, measured inside one
// target process: P9 compares processes (and scrape-toggle keeps serve attached throughout, so its
// windows all carry the kept profiler and the heap sampler). One HTTP fixture (pinned to one core)
// under a steady load; per window one condition: "plain" (nothing attached), "serve" (nodeprof
// serve attached, its Alloy jobs scraped once in the window: profile?seconds=W-1, allocs,
// goroutine, mutex, block), "dd" (@datadog/pprof in-process at dd-trace-js's defaults: time
// profiler at 99 Hz, heap sampler at 512 KiB). Before each window the condition is set up (serve
// attached and one set of scrapes answered, or the peer started), then `settle` seconds of load
// unmeasured, so a window holds each profiler running and not its start (the keeper's code log,
// the first heap read's GC). Conditions rotate and reverse every round. Requests per CPU-millisecond
// of the target (every thread), against the round's "plain", and serve against dd.
//
//   node dist/bench/attach-toggle.js [major=20] [rounds=20] [windowS=15] [settleS=5] [conditions=plain,serve,dd]

import { execFileSync } from 'node:child_process';
import { newAgent, runLoad } from './lib/load.js';
import { ask, cpuSecondsFine, nodeBinary, pinned, runScript, startTarget, stopTarget, type Target } from './lib/procs.js';
import { get, startServe, type Serving } from './lib/serve.js';
import { pairedPoints, roundOrder, summarize } from './lib/stats.js';
import { jobs } from './p9-continuous.js';

type Cond = 'plain' | 'serve' | 'dd';
const CONNECTIONS = 8;
const DD_INTERVAL_US = Math.round(1e6 / 99);
const DD_HEAP_BYTES = 512 * 1024;
/** dd-trace's export period: longer than any window here, so the peer exports between windows only. */
const DD_RESTART_MS = 60_000;

async function scrapeAll(serving: Serving, windowS: number): Promise<void> {
  const answers = await Promise.all(jobs(windowS).map((job) => get(serving.port, job, (windowS + 20) * 1000)));
  for (const a of answers) if (a.status !== 200) throw new Error(`scrape answered ${a.status}: ${a.error ?? ''}`);
}

async function main(): Promise<number> {
  const [major = '20', roundsArg = '20', windowArg = '15', settleArg = '5', condArg = 'plain,serve,dd'] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const windowS = Number(windowArg);
  const settleS = Number(settleArg);
  const conds = condArg.split(',') as Cond[];
  if (!conds.includes('plain')) throw new Error('the conditions need plain, the baseline');
  const node = nodeBinary(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const { value: perRound, how } = await pinned(async () => {
    const agent = newAgent(CONNECTIONS);
    const t: Target = await startTarget('http-server.js', { node, nodeArgs: ['--inspect=127.0.0.1:0'] });
    const out: Array<Partial<Record<Cond, number>>> = [];
    let serving: Serving | undefined;
    const load = (s: number) => runLoad(agent, { port: t.httpPort, connections: CONNECTIONS, durationMs: s * 1000, maxRequests: 10_000_000 });
    const enter = async (c: Cond) => {
      if (c === 'dd') await ask(t, `dd-start ${DD_INTERVAL_US} ${DD_HEAP_BYTES} ${DD_RESTART_MS}`, /dd started\n/);
      if (c === 'serve') serving = await startServe(t.inspectPort, ['--quiet']);
      // Settling under load; serve answers one set of scrapes meanwhile (its once-per-attachment work).
      await Promise.all([load(settleS), serving ? scrapeAll(serving, Math.max(2, settleS)) : undefined]);
    };
    const leave = async (c: Cond) => {
      if (c === 'dd') await ask(t, 'dd-stop', /dd stopped [\d.]+\n/);
      if (serving) {
        serving.cli.proc.kill('SIGINT');
        await serving.cli.exited;
        serving = undefined;
      }
    };
    const window = async (c: Cond): Promise<number> => {
      await enter(c);
      const scraped = serving ? scrapeAll(serving, windowS) : undefined;
      const cpu0 = cpuSecondsFine(t.proc.pid!);
      const r = await load(windowS);
      const cpuMs = (cpuSecondsFine(t.proc.pid!) - cpu0) * 1000;
      await scraped;
      if (r.errors > 0) throw new Error(`${r.errors} failed requests`);
      await leave(c);
      return r.ok / cpuMs;
    };
    try {
      await runLoad(agent, { port: t.httpPort, connections: CONNECTIONS, durationMs: 300_000, maxRequests: 6000 });
      for (const c of conds) await window(c); // warm-up, unmeasured
      for (let round = 0; round < rounds; round++) {
        const got: Partial<Record<Cond, number>> = {};
        for (const c of roundOrder(conds, round)) got[c] = await window(c);
        out.push(got);
        process.stderr.write(`round ${round + 1}/${rounds}: ${conds.map((c) => `${c} ${got[c]!.toFixed(3)}`).join(', ')} requests/CPU-ms\n`);
      }
    } finally {
      if (serving) serving.cli.proc.kill('SIGKILL');
      await stopTarget(t);
      agent.destroy();
    }
    return out;
  });
  const plain = perRound.map((r) => r.plain!);
  const lines = [`Node ${version}, HTTP fixture, ${rounds} rounds of ${windowS} s windows after ${settleS} s of settling; ${how}`];
  for (const c of conds.filter((c) => c !== 'plain')) {
    const d = pairedPoints(
      perRound.map((r) => r[c]!),
      plain,
      plain,
    );
    const ratio = summarize(perRound.map((r) => r[c]! / r.plain!)).median;
    lines.push(
      `${c} / plain: median ${ratio.toFixed(3)}; difference ${d.mean.toFixed(1)} ± ${d.se.toFixed(1)} points (mean ± SE), above plain in ${d.above} of ${d.n}`,
    );
  }
  if (conds.includes('serve') && conds.includes('dd')) {
    const d = pairedPoints(
      perRound.map((r) => r.serve!),
      perRound.map((r) => r.dd!),
      plain,
    );
    lines.push(`serve - dd: ${d.mean.toFixed(1)} ± ${d.se.toFixed(1)} points of plain (mean ± SE), serve above in ${d.above} of ${d.n}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

runScript('attach-toggle', main);
