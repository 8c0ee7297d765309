// `npm run bench [-- --quick] [--out dir] [--only P1,P2,P4,P5,P6W,P10] [--compare-dist dir] [--sizes 1,10,100]`: runs every measure in one process,
// one after another (never two at once: they would disturb each other on a 2-core machine), and
// writes RESULTS.md and results.json (to bench/ unless --out says otherwise).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureHeapOverhead, measureP1 } from './p1-overhead.js';
import { measureP1Paired } from './p1-paired.js';
import { measureP2 } from './p2-convert.js';
import { measureP3 } from './p3-snapshot.js';
import { measureP4, measureP5 } from './p4-p5-latency.js';
import { measureP6 } from './p6-facade.js';
import { measureP6Windows } from './p6-windows.js';
import { measureP10 } from './p10-profiler-start.js';
import { measureP9S } from './p9-scrape-cost.js';
import { measureP9, P9_CONDITIONS, type Condition as P9Condition } from './p9-continuous.js';
import { killAll, ROOT, runScript } from './lib/procs.js';
import { NOTES_MARKER, renderMarkdown, type MachineFacts, type Measure, type Results } from './lib/report.js';

interface Args {
  quick: boolean;
  out: string;
  only?: Set<string>;
  compareDist?: string;
  sizesMB?: number[];
  /** P1 experiments: more rounds, a longer window, some conditions or fixtures only. */
  rounds?: number;
  measureMs?: number;
  conditions?: string[];
  fixtures?: Array<'cpu' | 'http'>;
  /** P9: Node majors, the scrape period (s), conditions. */
  p9Nodes?: string[];
  p9Period?: number;
  p9Conditions?: P9Condition[];
  p9Base?: string;
  p9NoCrossover?: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, out: path.join(ROOT, 'bench') };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--quick') a.quick = true;
    else if (x === '--out') a.out = path.resolve(argv[++i] ?? '.');
    else if (x === '--only') a.only = new Set((argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase()));
    else if (x === '--compare-dist') a.compareDist = path.resolve(argv[++i] ?? '.');
    else if (x === '--sizes')
      a.sizesMB = (argv[++i] ?? '')
        .split(',')
        .map(Number)
        .filter((n) => n > 0);
    else if (x === '--p9-nodes') a.p9Nodes = (argv[++i] ?? '').split(',').filter((s) => /^\d+$/.test(s));
    else if (x === '--p9-base') a.p9Base = path.resolve(argv[++i] ?? '.');
    else if (x === '--p9-no-crossover') a.p9NoCrossover = true;
    else if (x === '--p9-period') a.p9Period = positive(x, argv[++i]);
    else if (x === '--p9-conditions')
      a.p9Conditions = (argv[++i] ?? '').split(',').filter((s): s is P9Condition => (P9_CONDITIONS as readonly string[]).includes(s));
    else if (x === '--rounds') a.rounds = positive(x, argv[++i]);
    else if (x === '--measure-ms') a.measureMs = positive(x, argv[++i]);
    else if (x === '--conditions')
      a.conditions = (argv[++i] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (x === '--fixtures')
      a.fixtures = (argv[++i] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s): s is 'cpu' | 'http' => s === 'cpu' || s === 'http');
    else {
      process.stderr.write(
        `bench: unknown argument ${x}; use --quick, --out <dir>, --only P1,P1D,P1E,P2,P3,P4,P5,P6,P6W,P9,P9S,P10 (P1 includes P1D and P1E, P6 includes P6W), --compare-dist <dist of another revision>, --sizes 1,10,100 (P2, MB), and for P1: --rounds N, --measure-ms N, --conditions plain,nodeprof-1ms,cpu-prof,... --fixtures cpu,http; for P9: --p9-nodes 20,22 --p9-period 5 --p9-conditions plain,serve,serve-1ms,dd (and --rounds, --fixtures, --p9-no-crossover; serve-base runs serve from --p9-base <dir of another build>)\n`,
      );
      process.exit(2);
    }
  }
  return a;
}

function positive(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`bench: ${flag} wants a positive whole number, not ${v ?? 'nothing'}\n`);
    process.exit(2);
  }
  return n;
}

function machineFacts(): MachineFacts {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench', 'bin', 'package.json'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout
  }
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAverageAtStart: os.loadavg(),
    commit,
  };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`
      : `node dist/bench/run.js ${argv.join(' ')}`.trim();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const machine = machineFacts();
  const q = args.quick;
  const latency = { p4Runs: q ? 1 : 5, p5Runs: q ? 1 : 3, p5WindowS: q ? 2 : 30, log };
  const cacheDir = path.join(ROOT, 'bench/out/cache');

  const overhead = {
    warmUnits: q ? 300 : 1500,
    warmRequests: q ? 300 : 1500,
    measureMs: args.measureMs ?? (q ? 400 : 1500),
    connections: 8,
    log,
    only: args.conditions,
  };
  // P1d (CPU) and P1e (heap sampling): paired windows in one target per fixture. A longer warm-up
  // than P1a-P1c's, where every condition starts from the same point: the CPU target's throughput
  // still climbed about 25% over the first 6 s after 1,500 units, which favoured whichever window
  // of a round came later.
  const paired = {
    windowMs: args.measureMs ?? (q ? 300 : 1200),
    warmUnits: q ? overhead.warmUnits : 8000,
    warmRequests: q ? overhead.warmRequests : 6000,
    connections: overhead.connections,
    intervalUs: 1000,
    fixtures: args.fixtures ?? (q ? (['cpu'] as const) : (['cpu', 'http'] as const)),
    log,
  };
  const plan: Array<[string, () => Promise<Measure | Measure[]>]> = [
    ['P1', () => measureP1({ ...overhead, rounds: args.rounds ?? (q ? 1 : 2), fixtures: args.fixtures })],
    // --quick: the CPU target only (the HTTP one adds four more target starts for no new code path).
    ['P1', () => measureHeapOverhead({ ...overhead, rounds: args.rounds ?? (q ? 1 : 2), fixtures: args.fixtures ?? (q ? ['cpu'] : ['cpu', 'http']) })],
    ['P1D', () => measureP1Paired({ ...paired, rounds: args.rounds ?? (q ? 1 : 5) })],
    ['P1E', () => measureP1Paired({ ...paired, rounds: args.rounds ?? (q ? 1 : 4), profiler: 'heap', intervalBytes: 512 * 1024 })],
    ['P2', () => measureP2({ sizesMB: args.sizesMB ?? (q ? [1] : [1, 10, 100]), rounds: q ? 1 : 3, cacheDir, log, compareDist: args.compareDist })],
    ['P3', () => measureP3({ sizesMB: q ? [10] : [100, 500], rounds: 1, log })],
    ['P4', () => measureP4(latency)],
    ['P5', () => measureP5(latency)],
    [
      'P6',
      () =>
        measureP6({
          concurrent: 10,
          profileSeconds: q ? 0.5 : 5,
          concurrentRounds: q ? 1 : 2,
          scrapes: q ? 50 : 1000,
          scrapeBudgetMs: q ? 8_000 : 150_000,
          log,
        }),
    ],
    // P6b: what concurrent CPU windows cost the target, and serve's bound on them (--only P6W alone).
    [
      'P6W',
      () => measureP6Windows({ seconds: q ? 2 : 4, profilers: q ? [1, 4] : [1, 2, 4, 8], requests: [1, 4, 16, 40], rounds: q ? 1 : 3, connections: 4, log }),
    ],
    // P10: Profiler.start's cost on the target's main thread against heap size.
    ['P10', () => measureP10({ sizesMB: q ? [1, 20] : [1, 100, 500], rounds: q ? 1 : 3, log })],
    // P9S: each scrape's cost in the target's CPU time, idle target, against the peer's continuous cost.
    [
      'P9S',
      () =>
        measureP9S({ majors: args.p9Nodes ?? (q ? [process.versions.node.split('.')[0]!] : ['20', '22']), reps: q ? 3 : 20, idleMs: q ? 3000 : 10_000, log }),
    ],
    // P9: continuous profiling (serve under Alloy's default jobs) against unprofiled and @datadog/pprof.
    [
      'P9',
      () =>
        measureP9({
          majors: args.p9Nodes ?? (q ? [process.versions.node.split('.')[0]!] : ['20', '22']),
          fixtures: args.fixtures ?? (q ? ['cpu'] : ['cpu', 'http']),
          rounds: args.rounds ?? (q ? 1 : 6),
          crossover: !args.p9NoCrossover,
          periodS: args.p9Period ?? (q ? 2 : 5),
          conditions: args.p9Conditions ?? ['plain', 'serve', 'dd'],
          warmUnits: q ? 300 : 3000,
          warmRequests: q ? 300 : 3000,
          connections: 8,
          baseDir: args.p9Base,
          log,
        }),
    ],
  ];
  const measures: Measure[] = [];
  const partSeconds: Array<[string, number]> = [];
  let failed = 0;
  for (const [id, run] of plan) {
    // P1D/P1E (paired windows) belong to P1 for --only, but not to a --conditions experiment on P1a/P1b.
    const paired = id === 'P1D' || id === 'P1E';
    const wanted = args.only
      ? args.only.has(id) || (paired && args.only.has('P1') && !args.conditions) || (id === 'P6W' && args.only.has('P6'))
      : !(paired && args.conditions);
    if (!wanted) {
      measures.push({
        id,
        title: '',
        status: 'skipped',
        reason: args.only ? `not in --only ${[...args.only].join(',')}` : 'not part of a --conditions experiment',
      });
      continue;
    }
    log(`bench: ${id}...`);
    const partStarted = performance.now();
    let part = id;
    try {
      const m = await run();
      const ms = Array.isArray(m) ? m : [m];
      measures.push(...ms);
      part = ms.map((x) => x.id).join('+');
    } catch (err) {
      failed++;
      const reason = (err as Error).message.split('\n')[0]!;
      log(`bench: ${id} failed: ${reason}`);
      measures.push({ id, title: 'failed', status: 'failed', reason });
    } finally {
      killAll();
      const sec = (performance.now() - partStarted) / 1000;
      partSeconds.push([part, sec]);
      log(`bench: ${part} took ${sec.toFixed(0)} s`);
    }
  }
  machine.loadAverageAtEnd = os.loadavg();
  const results: Results = { command, quick: q, machine, wallSeconds: (performance.now() - started) / 1000, partSeconds, measures };

  fs.mkdirSync(args.out, { recursive: true });
  const mdFile = path.join(args.out, 'RESULTS.md');
  const previous = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : '';
  const kept = previous.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER) + NOTES_MARKER.length) : '';
  fs.writeFileSync(path.join(args.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(mdFile, renderMarkdown(results, kept));
  log(`bench: wrote ${mdFile} and results.json in ${results.wallSeconds.toFixed(0)} s`);
  return failed ? 1 : 0;
}

runScript('bench', main);
