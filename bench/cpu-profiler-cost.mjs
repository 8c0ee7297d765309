// What a CPU profiler kept running costs an allocating app, measured where the noise of a shared
// machine cannot reach it (bench/heap-sampler-cost.mjs's method): one process (pinned to one core
// when taskset is there, so the profiler's own threads count against the app) runs the HTTP
// fixture's request work and toggles a profiler between short windows. Each profiler is started
// before its window and given `settleMs` to log the heap's code, so a window measures it running,
// as serve's kept profiler runs between scrapes, not its start or its stop. Conditions:
//   off     nothing
//   insp    V8's inspector profiler, one profile (Profiler.start), at `intervalUs`
//   keeper  serve's kept profiler: a console profile plus a window's Profiler.start on one session
//   dd      @datadog/pprof's time profiler at dd-trace's 99 Hz (its own v8::CpuProfiler)
//   insp1ms the inspector's profiler at 1 ms, for scale
//   heap    V8's sampling heap profiler through the inspector at 512 KiB (serve's)
//   ddheap  @datadog/pprof's heap sampler at 512 KiB, 64 frames (dd-trace's)
// and any of them joined by '+': keeper+heap is what serve keeps running, dd+ddheap the peer.
// Per condition: the median over rounds of requests per CPU-ms relative to the round's off window,
// and the paired difference to the peer's counterpart (keeper+heap - dd+ddheap), points of off, mean ± SE.
// Usage: node bench/cpu-profiler-cost.mjs [majors=20,22] [rounds=60] [windowMs=500] [conds=insp,keeper,dd,insp1ms] [depth=30] [settleMs=150] [intervalUs=10000]
import { execFileSync, spawn } from 'node:child_process';
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nodeFor } from './lib/busy-target.mjs';
import { checksum, requestWindow } from './lib/request-loop.mjs';

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]));
else await parent();

async function parent() {
  const majors = (process.argv[2] ?? '20,22').split(',');
  const opts = {
    rounds: Number(process.argv[3] ?? 60),
    windowMs: Number(process.argv[4] ?? 500),
    conds: (process.argv[5] ?? 'insp,keeper,dd,insp1ms').split(','),
    depth: Number(process.argv[6] ?? 30),
    settleMs: Number(process.argv[7] ?? 150),
    intervalUs: Number(process.argv[8] ?? 10_000),
  };
  let pin = [];
  try {
    execFileSync('taskset', ['-c', '1', 'true']);
    pin = ['taskset', '-c', '1'];
  } catch {
    // no taskset or one CPU: unpinned
  }
  console.log(
    `cpu-profiler-cost: ${opts.rounds} rounds of ${opts.conds.length + 1} windows of ${opts.windowMs} ms (each profiler ${opts.settleMs} ms old at its window's start), depth ${opts.depth}, inspector at ${opts.intervalUs} µs, ${pin.length ? 'pinned to CPU 1' : 'not pinned'}`,
  );
  for (const major of majors) {
    const argv = [...pin, nodeFor(major), fileURLToPath(import.meta.url), 'child', JSON.stringify(opts)];
    const out = await new Promise((resolve, reject) => {
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`child for Node ${major} exited ${code}`))));
    });
    const r = JSON.parse(out);
    console.log(
      "| Node | condition | requests per CPU-ms / off, median (IQR) | minus the peer's counterpart, points of off (mean ± SE) | above it in | CPU samples per s |",
    );
    console.log('|---|---|---:|---:|---:|---:|');
    for (const row of r.rows) {
      const vsDd = row.vsDd ? `${row.vsDd.ref}: ${row.vsDd.mean >= 0 ? '+' : ''}${row.vsDd.mean.toFixed(1)} ± ${row.vsDd.se.toFixed(1)}` : '';
      const better = row.vsDd ? `${row.vsDd.above}/${row.vsDd.n}` : '';
      console.log(
        `| ${r.version} | ${row.cond} | ${row.ratio.toFixed(4)} (${row.q1.toFixed(3)}-${row.q3.toFixed(3)}) | ${vsDd} | ${better} | ${row.samplesPerS ? row.samplesPerS.toFixed(0) : ''} |`,
      );
    }
    console.log(`| ${r.version} | off | requests per CPU-ms ${r.offRate.toFixed(2)} | | | |`);
  }
}

async function child(opts) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('HeapProfiler.enable');
  const dd = opts.conds.some((c) => /\bdd/.test(c)) ? createRequire(import.meta.url)('@datadog/pprof') : undefined;
  const consoleProfile = (call) => post('Runtime.evaluate', { expression: `${call}('cpu-profiler-cost')`, includeCommandLineAPI: true, silent: true });

  // A condition is one part or several joined by '+' (keeper+heap: serve's standing profilers).
  async function startPart(part) {
    if (part === 'dd') return dd.time.start({ intervalMicros: Math.round(1e6 / 99), durationMillis: 3_600_000 });
    if (part === 'ddheap') return dd.heap.start(512 * 1024, 64);
    if (part === 'heap') return post('HeapProfiler.startSampling', { samplingInterval: 512 * 1024 });
    if (part === 'off') return;
    await post('Profiler.setSamplingInterval', { interval: part === 'insp1ms' ? 1000 : opts.intervalUs });
    if (part === 'keeper') await consoleProfile('profile');
    await post('Profiler.start');
  }
  /** Stops what startPart() started: the samples the window's CPU profile holds. */
  async function stopPart(part) {
    if (part === 'dd') dd.time.stop(false);
    else if (part === 'ddheap') dd.heap.stop();
    else if (part === 'heap') await post('HeapProfiler.stopSampling');
    else if (part !== 'off') {
      const { profile } = await post('Profiler.stop');
      if (part === 'keeper') await consoleProfile('profileEnd');
      return profile.samples?.length ?? 0;
    }
    return 0;
  }
  const start = async (cond) => {
    for (const part of cond.split('+')) await startPart(part);
  };
  const stop = async (cond) => {
    let samples = 0;
    for (const part of cond.split('+')) samples += await stopPart(part);
    return samples;
  };
  async function window(cond) {
    await start(cond);
    await new Promise((r) => setTimeout(r, opts.settleMs));
    const w = requestWindow(opts.windowMs, opts.depth);
    const t0 = performance.now();
    const samples = await stop(cond);
    const ms = performance.now() - t0 + w.wall + opts.settleMs;
    await post('HeapProfiler.collectGarbage');
    return { rate: w.n / w.cpu, samplesPerS: (samples / ms) * 1000 };
  }

  const PARTS = ['insp', 'keeper', 'insp1ms', 'heap', 'dd', 'ddheap'];
  const unknown = opts.conds.flatMap((c) => c.split('+')).filter((p) => !PARTS.includes(p));
  if (unknown.length) throw new Error(`unknown condition part(s): ${unknown.join(', ')} (known: ${PARTS.join(', ')})`);
  const conds = ['off', ...opts.conds];
  for (let i = 0; i < 6; i++) for (const c of conds) await window(c); // warm up
  const ratios = new Map(opts.conds.map((c) => [c, []]));
  const sampleRates = new Map(opts.conds.map((c) => [c, []]));
  const offRates = [];
  for (let r = 0; r < opts.rounds; r++) {
    const k = r % conds.length;
    let order = [...conds.slice(k), ...conds.slice(0, k)];
    if (r % 2) order = order.reverse();
    const got = new Map();
    for (const c of order) {
      const w = await window(c);
      got.set(c, w.rate);
      if (c !== 'off') sampleRates.get(c).push(w.samplesPerS);
    }
    offRates.push(got.get('off'));
    for (const c of opts.conds) ratios.get(c).push(got.get(c) / got.get('off'));
  }
  // Each condition is paired with the peer's counterpart of it when that ran too (keeper+heap with
  // dd+ddheap, keeper or insp with dd).
  const PEER = { keeper: 'dd', insp: 'dd', insp1ms: 'dd', heap: 'ddheap' };
  const counterpart = (cond) =>
    cond
      .split('+')
      .map((p) => PEER[p] ?? p)
      .join('+');
  const q = (a, f) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * f))];
  const rows = opts.conds.map((cond) => {
    const rs = ratios.get(cond);
    let vsDd;
    const ref = counterpart(cond);
    if (ref !== cond && ratios.has(ref)) {
      const d = rs.map((x, i) => (x - ratios.get(ref)[i]) * 100);
      const mean = d.reduce((a, b) => a + b, 0) / d.length;
      const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length - 1));
      vsDd = { ref, mean, se: sd / Math.sqrt(d.length), above: d.filter((x) => x > 0).length, n: d.length };
    }
    return { cond, ratio: q(rs, 0.5), q1: q(rs, 0.25), q3: q(rs, 0.75), vsDd, samplesPerS: q(sampleRates.get(cond), 0.5) };
  });
  process.stdout.write(JSON.stringify({ version: process.version, rows, offRate: q(offRates, 0.5), sink: checksum() }));
  session.disconnect();
}
