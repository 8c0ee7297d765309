// P6: the /debug/pprof/ facade (`nodeprof serve`) under load. First N concurrent
// GET profile?seconds=S (each request gets its own inspector session and its own V8 profile): the
// wall time until the last answer and every status code. Then a long run of short sequential
// scrapes with the RSS of nodeprof and of the target sampled along the way: memory should stay flat.

import { get, procMem, startServe, startTraffic, type ProcMem } from './lib/serve.js';
import { exitedWithin, startTarget, stopTarget } from './lib/procs.js';
import type { Measure, Row } from './lib/report.js';
import { summarize } from './lib/stats.js';

export interface P6Options {
  concurrent: number;
  profileSeconds: number;
  concurrentRounds: number;
  scrapes: number;
  /** The sequential scrapes stop here even if fewer than `scrapes` were made. */
  scrapeBudgetMs: number;
  log(line: string): void;
}

/** The sequential mix: Go's usual short scrapes, and a short CPU profile one time in five. */
const MIX = ['heap', 'allocs', 'goroutine', 'profile?seconds=0.1', 'goroutine?debug=1'];
const TRAFFIC_PAUSE_MS = 20;

export async function measureP6(o: P6Options): Promise<Measure> {
  const target = await startTarget('http-server.js', { nodeArgs: ['--inspect=127.0.0.1:0'] });
  const traffic = startTraffic(target.httpPort, TRAFFIC_PAUSE_MS);
  let serving: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    serving = await startServe(target.inspectPort);
    const port = serving.port;

    // 1. Concurrent CPU profiles.
    const walls: number[] = [];
    const each: number[] = [];
    const statuses: Record<string, number> = {};
    const errors: string[] = [];
    for (let round = 0; round < o.concurrentRounds; round++) {
      const t0 = performance.now();
      const answers = await Promise.all(
        Array.from({ length: o.concurrent }, () => get(port, `profile?seconds=${o.profileSeconds}`, 120_000 + o.profileSeconds * 1000)),
      );
      walls.push(performance.now() - t0);
      for (const a of answers) {
        each.push(a.ms);
        const k = a.status ? String(a.status) : 'no answer';
        statuses[k] = (statuses[k] ?? 0) + 1;
        if (a.status !== 200 && errors.length < 5) errors.push(a.status ? `${a.status}` : a.error!);
        if (a.status === 200 && a.bytes === 0) errors.push('an empty 200 answer');
      }
      o.log(
        `P6 ${o.concurrent} × profile?seconds=${o.profileSeconds} round ${round + 1}/${o.concurrentRounds}: ${(walls.at(-1)! / 1000).toFixed(2)} s; ${answers.map((a) => a.status).join(' ')}`,
      );
    }

    // 2. Sequential short scrapes, memory sampled every tenth of the run.
    const every = Math.max(1, Math.round(o.scrapes / 10));
    const mem: Array<{ at: number; serve?: ProcMem; target?: ProcMem }> = [];
    const seqStatus: Record<string, number> = {};
    const seqMs: number[] = [];
    const sample = (at: number) => mem.push({ at, serve: procMem(serving!.cli.proc.pid), target: procMem(target.proc.pid) });
    const t0 = performance.now();
    let n = 0;
    sample(0);
    while (n < o.scrapes && performance.now() - t0 < o.scrapeBudgetMs) {
      const a = await get(port, MIX[n % MIX.length]!, 60_000);
      n++;
      seqMs.push(a.ms);
      const k = a.status ? String(a.status) : 'no answer';
      seqStatus[k] = (seqStatus[k] ?? 0) + 1;
      if (a.status !== 200 && errors.length < 10) errors.push(`${MIX[(n - 1) % MIX.length]}: ${a.status || a.error}`);
      if (n % every === 0) sample(n);
    }
    if (n % every !== 0) sample(n);
    const seqS = (performance.now() - t0) / 1000;
    o.log(
      `P6 ${n} sequential scrapes in ${seqS.toFixed(1)} s; RSS nodeprof ${mem.map((m) => m.serve?.rssMiB.toFixed(0)).join(' ')} MiB; target ${mem.map((m) => m.target?.rssMiB.toFixed(0)).join(' ')} MiB`,
    );

    const fmtStatus = (s: Record<string, number>) =>
      Object.entries(s)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
    const mid = mem[Math.floor((mem.length - 1) / 2)]!;
    const first = mem[0]!;
    const last = mem.at(-1)!;
    const memRow = (name: string, pick: (m: (typeof mem)[number]) => ProcMem | undefined): Row => ({
      name,
      unit: 'MiB',
      summary: summarize(mem.map((m) => pick(m)?.rssMiB ?? NaN)),
      extra: {
        start: `${pick(first)?.rssMiB.toFixed(1)} MiB`,
        middle: `${pick(mid)?.rssMiB.toFixed(1)} MiB (after ${mid.at})`,
        end: `${pick(last)?.rssMiB.toFixed(1)} MiB (after ${last.at})`,
        'open fds start → end': `${pick(first)?.fds} → ${pick(last)?.fds}`,
      },
    });
    const rows: Row[] = [
      {
        name: `wall time of ${o.concurrent} concurrent profile?seconds=${o.profileSeconds}`,
        unit: 's',
        summary: summarize(walls.map((w) => w / 1000)),
        extra: { 'status codes': fmtStatus(statuses) },
      },
      { name: `each of those requests, sent → answered`, unit: 's', summary: summarize(each.map((w) => w / 1000)) },
      {
        name: `sequential scrape, sent → answered (${MIX.join(', ')})`,
        unit: 'ms',
        summary: summarize(seqMs),
        extra: { 'status codes': fmtStatus(seqStatus) },
      },
      memRow(`nodeprof serve RSS over ${n} sequential scrapes`, (m) => m.serve),
      memRow(`target RSS over ${n} sequential scrapes`, (m) => m.target),
    ];
    const notes = [
      `Status codes: ${fmtStatus(statuses)} for the concurrent profiles; ${fmtStatus(seqStatus)} for the sequential scrapes${errors.length ? `; problems: ${errors.join('; ')}` : ''}.`,
      `${n} sequential scrapes (of ${o.scrapes} planned, within a budget of ${(o.scrapeBudgetMs / 1000).toFixed(0)} s) took ${seqS.toFixed(1)} s, rotating ${MIX.map((m) => `\`${m}\``).join(', ')}; RSS (VmRSS from /proc) read before the first and after every ${every}th. RSS rows give min / median / max over those ${mem.length} readings.`,
      `Peak RSS (VmHWM) over the whole measure: nodeprof ${last.serve?.hwmMiB.toFixed(1)} MiB, target ${last.target?.hwmMiB.toFixed(1)} MiB.`,
      `Target: bench/fixtures/http-server.js with \`--inspect=127.0.0.1:0\`, kept busy by one keep-alive client (a request, then ${TRAFFIC_PAUSE_MS} ms); \`nodeprof serve --target <port> --listen 127.0.0.1:0\` in front of it.`,
    ];
    return {
      id: 'P6',
      title: `serve facade: ${o.concurrent} concurrent profile?seconds=${o.profileSeconds}, and RSS over ${o.scrapes} sequential short scrapes`,
      status: 'measured',
      method: `One target and one \`nodeprof serve\` for the whole measure: ${o.concurrentRounds} round(s) of ${o.concurrent} concurrent profile requests, then the sequential scrapes.`,
      goal: 'all 200, flat memory',
      rows,
      notes,
    };
  } finally {
    await traffic.stop();
    if (serving) {
      serving.cli.proc.kill('SIGINT');
      const cli = serving.cli;
      if (!(await exitedWithin(cli, 15_000))) cli.proc.kill('SIGKILL');
    }
    await stopTarget(target);
  }
}
