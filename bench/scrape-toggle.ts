// What serve's scrapes cost a busy HTTP target, measured inside one target process: P9 compares
// processes and cannot resolve a 2-3 point cost split by job on a shared machine (bench/RESULTS.md).
// One HTTP fixture (pinned to one core) under a steady load, serve attached to it for the whole run;
// windows of W seconds, each with one set of scrapes started at its beginning or none: "off" (no
// scrape), "all" (Alloy's five jobs: profile?seconds=W-1, allocs, goroutine, mutex, block),
// "profile" (the CPU window alone), "others" (the four others). Conditions rotate and reverse every
// round. Requests per CPU-millisecond of the target (every thread), against the round's "off".
// An after-effect of one window's scrapes spills into the next window, whatever its condition,
// which shrinks differences rather than invents them.
//
//   node dist/bench/scrape-toggle.js [major=20] [rounds=30] [windowS=5] [conditions=off,all,profile,others]

import { execFileSync } from 'node:child_process';
import { newAgent, runLoad } from './lib/load.js';
import { cpuSecondsFine, nodeBinary, pinned, runScript, startTarget, stopTarget } from './lib/procs.js';
import { get, startServe } from './lib/serve.js';
import { pairedPoints, roundOrder, summarize } from './lib/stats.js';
import { jobs } from './p9-continuous.js';

type Cond = 'off' | 'all' | 'profile' | 'others';
const CONNECTIONS = 8;

/** P9's Alloy jobs for a window of windowS (the profile job first), or part of them. */
function scrapes(c: Cond, windowS: number): string[] {
  const [profile, ...others] = jobs(windowS);
  return c === 'off' ? [] : c === 'profile' ? [profile!] : c === 'others' ? others : [profile!, ...others];
}

async function main(): Promise<number> {
  const [major = '20', roundsArg = '30', windowArg = '5', condArg = 'off,all,profile,others'] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const windowS = Number(windowArg);
  const conds = condArg.split(',') as Cond[];
  const node = nodeBinary(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const { value: perRound, how } = await pinned(async () => {
    const agent = newAgent(CONNECTIONS);
    const t = await startTarget('http-server.js', { node, nodeArgs: ['--inspect=127.0.0.1:0'] });
    const out: Array<Partial<Record<Cond, number>>> = [];
    try {
      await runLoad(agent, { port: t.httpPort, connections: CONNECTIONS, durationMs: 300_000, maxRequests: 6000 });
      const serving = await startServe(t.inspectPort);
      try {
        const window = async (c: Cond): Promise<number> => {
          const answers = Promise.all(scrapes(c, windowS).map((job) => get(serving.port, job, (windowS + 20) * 1000)));
          const cpu0 = cpuSecondsFine(t.proc.pid!);
          const r = await runLoad(agent, { port: t.httpPort, connections: CONNECTIONS, durationMs: windowS * 1000, maxRequests: 10_000_000 });
          const cpuMs = (cpuSecondsFine(t.proc.pid!) - cpu0) * 1000;
          for (const a of await answers) if (a.status !== 200) throw new Error(`scrape answered ${a.status}: ${a.error ?? ''}`);
          if (r.errors > 0) throw new Error(`${r.errors} failed requests`);
          return r.ok / cpuMs;
        };
        // Warm-up: serve's once-per-attachment work and the target's re-warm, unmeasured.
        for (const c of conds) await window(c);
        for (let round = 0; round < rounds; round++) {
          const got: Partial<Record<Cond, number>> = {};
          for (const c of roundOrder(conds, round)) got[c] = await window(c);
          out.push(got);
          process.stderr.write(`round ${round + 1}/${rounds}: ${conds.map((c) => `${c} ${got[c]!.toFixed(3)}`).join(', ')} requests/CPU-ms\n`);
        }
      } finally {
        serving.cli.proc.kill('SIGTERM');
        await serving.cli.exited;
      }
    } finally {
      await stopTarget(t);
      agent.destroy();
    }
    return out;
  });
  const lines = [`Node ${version}, HTTP fixture, ${rounds} rounds of ${windowS} s windows; ${how}`];
  for (const c of conds.filter((c) => c !== 'off')) {
    const ratio = perRound.map((r) => r[c]! / r.off!);
    const off = perRound.map((r) => r.off!);
    const d = pairedPoints(
      perRound.map((r) => r[c]!),
      off,
      off,
    );
    lines.push(
      `${c} / off: median ${summarize(ratio).median.toFixed(3)}; difference mean ${d.mean.toFixed(1)} ± ${d.se.toFixed(1)} points (standard error), better than off in ${d.above} of ${d.n}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

runScript('scrape-toggle', main);
