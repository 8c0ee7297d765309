// P5 broken down: the end of an `attach --cpu` window, step by step, from the moment V8 stopped its
// profiler. Each rep runs in a fresh process of this Node (everything cold, as a CLI run is) and
// drives the CLI's own modules in the CLI's order: CpuCollector.stop (V8 stops, serializes and sends
// the profile; chrome-remote-interface parses it), the source-map lookup, the conversion, encode,
// gzip, leaving the target clean (Profiler.disable, the session closed), the write. Times are read
// on the machine's monotonic clock, which V8's profile timestamps use too (Linux), so "from the
// stop" is exact without a round trip. V8's share is the first step;
// the rest is nodeprof's (JSON.parse of the answer is inside the first step here: window-end.mjs
// gives it alone, about 4-5 ms for a 30 s profile at 1 ms).
// The fixture's modules carry URLs of files that are not on this machine (file:///srv/bench-app/...),
// so the source-map step asks the target through Debugger.enable, as it does for a target in a
// container; `no-debugger` leaves that lookup out (what a target whose files are here costs).
// Usage: npm run build && node bench/p5-split.mjs [majors=20,22] [reps=5] [windowS=30] [intervalUs=1000] [no-debugger]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, nodeFor, root, sleep, startTarget } from './lib/busy-target.mjs';

const dist = (p) => path.join(root, 'dist/src', p);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

if (process.argv[2] === 'child')
  await child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6], process.argv[7] === 'no-debugger');
else await parent();

async function child(port, windowS, intervalUs, out, noDebugger) {
  const [{ openTarget }, { CpuCollector }, { sourceMapsForCpuProfile }, cpu, { gzipPprof }] = await Promise.all([
    import(dist('target/connect.js')),
    import(dist('collect/cpu.js')),
    import(dist('collect/source-map-loader.js')),
    import(dist('pprof/cpu-profile.js')),
    import(dist('pprof/encode.js')),
  ]);
  const target = await openTarget({ kind: 'address', host: '127.0.0.1', port });
  const collector = new CpuCollector(intervalUs);
  await collector.start(target.session);
  await sleep(windowS * 1000);
  const rec = await collector.stop(target.session);
  const t = { answered: nowUs() };
  const maps = await sourceMapsForCpuProfile(target.session, rec.profile, { useDebugger: !noDebugger });
  t.maps = nowUs();
  const builder = cpu.newCpuBuilder({ intervalUs, startedAtMs: rec.startedAtMs }, Math.round((rec.profile.endTime - rec.profile.startTime) * 1000));
  await cpu.addCpuProfileYielding(builder, rec.profile, { intervalUs, mapFrame: maps.mapFrame, cpuScale: rec.cpuScale });
  t.converted = nowUs();
  const raw = builder.encode();
  t.encoded = nowUs();
  const gz = gzipPprof(raw);
  t.gzipped = nowUs();
  // attach leaves the target clean (profiler disabled, session closed) before it writes.
  await collector.cleanup(target.session);
  await target.release();
  t.released = nowUs();
  fs.writeFileSync(out, gz);
  t.written = nowUs();
  const end = rec.profile.endTime;
  const ms = (a, b) => (a - b) / 1000;
  process.stdout.write(
    JSON.stringify({
      v8: ms(t.answered, end),
      maps: ms(t.maps, t.answered),
      viaDebugger: maps.stats.viaDebugger,
      convert: ms(t.converted, t.maps),
      encode: ms(t.encoded, t.converted),
      gzip: ms(t.gzipped, t.encoded),
      release: ms(t.released, t.gzipped),
      write: ms(t.written, t.released),
      total: ms(t.written, end),
      samples: rec.profile.samples.length,
      nodes: rec.profile.nodes.length,
    }),
  );
}

async function parent() {
  const majors = (process.argv[2] ?? '20,22').split(',');
  const reps = Number(process.argv[3] ?? 5);
  const windowS = Number(process.argv[4] ?? 30);
  const intervalUs = Number(process.argv[5] ?? 1000);
  const noDebugger = process.argv[6] === 'no-debugger';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-p5-split-'));
  const rows = [];
  try {
    for (const major of majors) {
      const node = nodeFor(major);
      const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
      const target = await startTarget(node);
      try {
        const port = Number(new URL(target.ws).port);
        await sleep(3000); // warm
        const runs = [];
        for (let i = 0; i < reps; i++) {
          const out = execFileSync(
            process.execPath,
            [
              fileURLToPath(import.meta.url),
              'child',
              String(port),
              String(windowS),
              String(intervalUs),
              path.join(tmp, 'p.pb.gz'),
              noDebugger ? 'no-debugger' : '',
            ],
            {
              encoding: 'utf8',
            },
          );
          runs.push(JSON.parse(out));
          console.error(`p5-split: Node ${version}, rep ${i + 1}/${reps}: ${out}`);
        }
        rows.push({ version, runs });
      } finally {
        target.proc.kill('SIGKILL');
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const f = (runs, k) =>
    `${median(runs.map((r) => r[k])).toFixed(1)} (${Math.min(...runs.map((r) => r[k])).toFixed(1)}-${Math.max(...runs.map((r) => r[k])).toFixed(1)})`;
  console.log(
    `| target | V8: stop → answer parsed | source maps | convert | encode | gzip | cleanup, release | write | nodeprof's steps | total, stop → written | profile |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const { version, runs } of rows) {
    for (const r of runs) r.ours = r.total - r.v8;
    const debuggerNote = runs.some((r) => r.viaDebugger > 0) ? `, ${median(runs.map((r) => r.viaDebugger))} scripts looked up through Debugger.enable` : '';
    console.log(
      `| ${version} | ${f(runs, 'v8')} | ${f(runs, 'maps')} | ${f(runs, 'convert')} | ${f(runs, 'encode')} | ${f(runs, 'gzip')} | ${f(runs, 'release')} | ${f(runs, 'write')} | ${f(runs, 'ours')} | ${f(runs, 'total')} | ${median(runs.map((r) => r.samples))} samples, ${median(runs.map((r) => r.nodes))} nodes${debuggerNote} |`,
    );
  }
  console.log(
    `(ms from V8's stop, median (min-max) of ${reps} fresh nodeprof processes on ${process.version}${noDebugger ? ', no Debugger lookup' : ''}; ${windowS} s windows at ${intervalUs} µs on bench/fixtures/cpu-work.js; load ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(', ')})`,
  );
}
