// The end of a CPU window, split: how long the target's main thread stalls while V8 stops its
// profiler and serializes the profile (its event-loop delay, 1 ms resolution, over the window's
// last 2 s), how long Profiler.stop takes to come back whole (V8's share: stop, serialization,
// transfer), and what nodeprof then does with it (JSON.parse, conversion, encode, gzip, write).
// The target is the synthetic app, busy (bench/fixtures/cpu-work.js loop); each window runs on a
// websocket of its own, as serve's do. Rows: interval 10 ms (serve's default) and 1 ms (attach's).
// With `cold`, each conversion runs in a fresh process of this Node (bench/lib/convert-steps.mjs), as attach's does;
// without, in this one (warm after the first rep, as serve's are).
// Usage: npm run build && node bench/window-end.mjs [majors=20,22] [reps=3] [windowS=14] [intervalsUs=10000,1000,0 (0: no profiler)] [cold]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertSteps } from './lib/convert-steps.mjs';
import { median, nodeFor, root, session, sleep, startTarget } from './lib/busy-target.mjs';

const majors = (process.argv[2] ?? '20,22').split(',');
const reps = Number(process.argv[3] ?? 3);
const windowS = Number(process.argv[4] ?? 14);
const intervals = (process.argv[5] ?? '10000,1000,0').split(',').map(Number);
const cold = process.argv[6] === 'cold';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-window-end-'));
for (const major of majors) {
  const node = nodeFor(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const t = await startTarget(node);
  await sleep(3000); // warm
  const rows = [];
  for (const intervalUs of intervals) {
    const r = { stall: [], eldP99: [], v8: [], bytes: [], parse: [], convert: [], gzip: [], write: [], samples: [] };
    for (let i = 0; i < reps; i++) {
      const s = await session(t.ws);
      if (intervalUs) {
        await s.send('Profiler.enable');
        await s.send('Profiler.setSamplingInterval', { interval: intervalUs });
        await s.send('Profiler.start');
      }
      await sleep((windowS - 2) * 1000);
      await t.ask('eld-reset 1', /eld reset\n/);
      await sleep(2000);
      if (intervalUs) {
        const t0 = performance.now();
        const { at, text } = await s.send('Profiler.stop');
        r.v8.push(at - t0);
        r.bytes.push(text.length);
        const out = path.join(tmp, 'p.pb.gz');
        let steps;
        if (cold) {
          const msg = path.join(tmp, 'stop.json');
          fs.writeFileSync(msg, text);
          const argv = [path.join(root, 'bench/lib/convert-steps.mjs'), msg, String(intervalUs), out];
          steps = JSON.parse(execFileSync(process.execPath, argv, { encoding: 'utf8' }));
        } else {
          steps = await convertSteps(text, intervalUs, out);
        }
        r.parse.push(steps.parse);
        r.convert.push(steps.convert);
        r.gzip.push(steps.gzip);
        r.write.push(steps.write);
        r.samples.push(steps.samples);
        await s.send('Profiler.disable');
      }
      await sleep(300);
      const eld = JSON.parse((await t.ask('eld-read', /eld (\{.*\})\n/))[1]);
      r.stall.push(eld.max);
      r.eldP99.push(eld.p99);
      s.close();
    }
    const f = (a) => (a.length ? `${median(a).toFixed(1)} (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})` : '-');
    rows.push(
      `| ${version} | ${intervalUs ? `${intervalUs / 1000} ms` : 'none (baseline)'} | ${f(r.stall)} | ${f(r.eldP99)} | ${f(r.v8)} | ${r.bytes.length ? `${(median(r.bytes) / 1024).toFixed(0)} KiB, ${median(r.samples)} samples` : '-'} | ${f(r.parse)} | ${f(r.convert)} | ${f(r.gzip)} | ${f(r.write)} |`,
    );
  }
  t.proc.kill('SIGKILL');
  console.log(rows.join('\n'));
}
console.log(
  `(columns: Node | interval | loop stall at window end: max event-loop delay over the last 2 s, ms | its p99 | Profiler.stop sent → message whole, ms | its size | JSON.parse | convert+encode | gzip | write; median (min-max) of ${reps}, ${windowS} s windows, conversion ${cold ? 'cold, in a fresh process each' : 'in this process'}; load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')})`,
);
fs.rmSync(tmp, { recursive: true, force: true });
