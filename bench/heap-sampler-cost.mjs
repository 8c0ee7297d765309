// What V8's sampling heap profiler costs an allocating app, by interval, measured where the noise of
// a shared machine cannot reach it: one process (pinned to one core when taskset is there) runs
// the HTTP fixture's request work (bench/fixtures/http-server.js's handler, without the socket) at
// a stack depth like a request's, and toggles the sampler itself through an in-process inspector
// session (node --heap-prof's way, the same V8 calls as serve's) between short windows: off and
// each interval, the order rotated and reversed every round, a full GC after every window so each
// starts from the same heap. Per window: requests per CPU-ms (process.cpuUsage). Per interval: the
// median of the rounds' ratio to the round's window without the sampler, and the sampler's samples
// per second (a calibration window that keeps collected objects' samples counts them all), hence
// its cost per sample. A negative interval is @datadog/pprof's heap sampler at that interval (the
// same V8 sampler, started through V8's C++ API with 64 frames, as dd-trace runs it).
// Usage: node bench/heap-sampler-cost.mjs [majors=20,22] [rounds=60] [windowMs=250] [intervals=131072,524288,1048576,4194304] [depth=30]
import { execFileSync, spawn } from 'node:child_process';
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { checksum, requestWindow } from './lib/request-loop.mjs';

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]));
else await parent();

async function parent() {
  const majors = (process.argv[2] ?? '20,22').split(',');
  const opts = {
    rounds: Number(process.argv[3] ?? 60),
    windowMs: Number(process.argv[4] ?? 250),
    intervals: (process.argv[5] ?? '131072,524288,1048576,4194304').split(',').map(Number),
    depth: Number(process.argv[6] ?? 30),
  };
  const { nodeFor } = await import('./lib/busy-target.mjs');
  let pin = [];
  try {
    execFileSync('taskset', ['-c', '1', 'true']);
    pin = ['taskset', '-c', '1'];
  } catch {
    // no taskset or one CPU: unpinned
  }
  console.log(
    `heap-sampler-cost: ${opts.rounds} rounds of ${opts.intervals.length + 1} windows of ${opts.windowMs} ms, depth ${opts.depth}, ${pin.length ? 'pinned to CPU 1' : 'not pinned'}`,
  );
  console.log('| Node | interval | requests per CPU-ms / without the sampler, median (IQR) | samples per s | cost per sample, µs |');
  console.log('|---|---|---:|---:|---:|');
  for (const major of majors) {
    const node = nodeFor(major);
    const argv = [...pin, node, fileURLToPath(import.meta.url), 'child', JSON.stringify(opts)];
    const out = await new Promise((resolve, reject) => {
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d) => (s += d));
      p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`child for Node ${major} exited ${code}`))));
    });
    const r = JSON.parse(out);
    for (const row of r.rows) {
      console.log(
        `| ${r.version} | ${row.interval < 0 ? '@datadog/pprof ' : ''}${Math.abs(row.interval) >= 1 << 20 ? `${Math.abs(row.interval) / (1 << 20)} MiB` : `${Math.abs(row.interval) / 1024} KiB`} | ${row.ratio.toFixed(4)} (${row.q1.toFixed(3)}-${row.q3.toFixed(3)}) | ${row.samplesPerS.toFixed(0)} | ${row.usPerSample.toFixed(1)} |`,
      );
    }
    console.log(`| ${r.version} | (off) | requests per CPU-ms ${r.offRate.toFixed(1)}, allocation about ${r.allocMBps.toFixed(0)} MB/s | | |`);
  }
}

async function child(opts) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('HeapProfiler.enable');

  const dd = opts.intervals.some((i) => i < 0) ? createRequire(import.meta.url)('@datadog/pprof') : undefined;
  async function window(interval, keepCollected = false) {
    if (interval < 0) dd.heap.start(-interval, 64);
    else if (interval)
      await post('HeapProfiler.startSampling', {
        samplingInterval: interval,
        includeObjectsCollectedByMajorGC: keepCollected,
        includeObjectsCollectedByMinorGC: keepCollected,
      });
    const { n, cpu, wall } = requestWindow(opts.windowMs, opts.depth);
    let samples = 0;
    if (interval < 0) dd.heap.stop();
    else if (interval) {
      if (keepCollected) samples = (await post('HeapProfiler.getSamplingProfile')).profile.samples.length;
      await post('HeapProfiler.stopSampling');
    }
    await post('HeapProfiler.collectGarbage');
    return { rate: n / cpu, wall, samples };
  }

  const conds = [0, ...opts.intervals];
  for (let i = 0; i < 12; i++) for (const c of conds) await window(c); // warm up
  const ratios = new Map(opts.intervals.map((i) => [i, []]));
  const offRates = [];
  for (let r = 0; r < opts.rounds; r++) {
    const k = r % conds.length;
    let order = [...conds.slice(k), ...conds.slice(0, k)];
    if (r % 2) order = order.reverse();
    const got = new Map();
    for (const c of order) got.set(c, (await window(c)).rate);
    offRates.push(got.get(0));
    for (const i of opts.intervals) ratios.get(i).push(got.get(i) / got.get(0));
  }
  // samples per second at each interval: windows that keep every sample
  const rows = [];
  const q = (a, f) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * f))];
  const offRate = q(offRates, 0.5);
  for (const i of opts.intervals) {
    const cal = [];
    // @datadog/pprof's samples are not counted: the inspector's at the same interval stand for them
    for (let k = 0; k < 5; k++) {
      const w = await window(Math.abs(i), true);
      cal.push((w.samples / w.wall) * 1000);
    }
    const samplesPerS = q(cal, 0.5);
    const ratio = q(ratios.get(i), 0.5);
    // with the sampler on, a share 1 - ratio of each CPU-second goes to it: that over its samples
    const usPerSample = samplesPerS > 0 ? ((1 - ratio) * 1e6) / samplesPerS : 0;
    rows.push({ interval: i, ratio, q1: q(ratios.get(i), 0.25), q3: q(ratios.get(i), 0.75), samplesPerS, usPerSample });
  }
  const base = rows.find((r) => r.interval === 524288) ?? rows[0];
  const allocMBps = (base.samplesPerS * base.interval) / 1e6;
  process.stdout.write(JSON.stringify({ version: process.version, rows, offRate, allocMBps, sink: checksum() }));
  session.disconnect();
}
