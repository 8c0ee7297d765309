// What one serve window costs the target's main thread, a window of its own against one cut from a
// kept profiler (src/serve/cpu-keeper.ts): Profiler.start (a fresh profiler logs every code object
// of the heap to it), Profiler.stop (V8 builds and serializes the window's profile), and for the
// kept profiler the console-profile rotation (profile(next), then profileEnd(previous), which makes
// V8 serialize the whole previous console profile: it covers the window and the time since the
// last rotation). Round trips from the client, and the target's largest event-loop delay (1 ms
// resolution) around each step. The target is the synthetic app, busy (bench/fixtures/cpu-work.js
// loop), with about `ballastMiB` MiB of live objects on its heap (Profiler.start's cost grows with the heap).
// Usage: npm run build && node bench/keeper-window.mjs [majors=20,22] [reps=5] [windowS=4] [ballastMiB=100]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { median, nodeFor, session, sleep, startTarget } from './lib/busy-target.mjs';

const majors = (process.argv[2] ?? '20,22').split(',');
const reps = Number(process.argv[3] ?? 5);
const windowS = Number(process.argv[4] ?? 4);
const ballastMiB = Number(process.argv[5] ?? 100);
const INTERVAL_US = 10_000;

/** Round trip of one command, ms, and the target's largest loop delay around it, ms. */
async function timed(t, s, method, params) {
  await t.ask('eld-reset 1', /eld reset\n/);
  const t0 = performance.now();
  const a = await s.send(method, params);
  await sleep(50);
  const eld = JSON.parse((await t.ask('eld-read', /eld (\{.*\})\n/))[1]);
  return { ms: a.at - t0, bytes: a.text.length, stall: eld.max };
}

const consoleCmd = (cmd, title) => ['Runtime.evaluate', { expression: `${cmd}(${JSON.stringify(title)})`, includeCommandLineAPI: true, silent: true }];

const f = (a) => (a.length ? `${median(a).toFixed(1)} (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})` : '-');
const kib = (a) => (a.length ? `${(median(a) / 1024).toFixed(0)}` : '-');
console.log(
  '| Node | window | Profiler.start, ms | its stall, ms | Profiler.stop, ms | its stall, ms | answer, KiB | rotation: profileEnd, ms | its stall, ms | its event, KiB |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const major of majors) {
  const node = nodeFor(major);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const t = await startTarget(node);
  try {
    const setup = await session(t.ws);
    // Our own constant expression: live objects the size asked for, so the heap is that big.
    await setup.send('Runtime.evaluate', {
      expression: `globalThis.__ballast = Array.from({ length: ${ballastMiB} }, (_, i) => Array.from({ length: 26000 }, (_, j) => ({ i, j }))).length`,
    });
    setup.close();
    await sleep(3000); // warm
    const rows = {
      fresh: { start: [], startStall: [], stop: [], stopStall: [], bytes: [] },
      kept: { start: [], startStall: [], stop: [], stopStall: [], bytes: [], end: [], endStall: [], endBytes: [] },
    };
    for (let i = 0; i < reps; i++) {
      const s = await session(t.ws);
      await s.send('Profiler.enable');
      await s.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
      const st = await timed(t, s, 'Profiler.start');
      await sleep(windowS * 1000);
      const sp = await timed(t, s, 'Profiler.stop');
      await s.send('Profiler.disable');
      s.close();
      Object.entries({ start: st.ms, startStall: st.stall, stop: sp.ms, stopStall: sp.stall, bytes: sp.bytes }).forEach(([k, v]) => rows.fresh[k].push(v));
    }
    const k = await session(t.ws);
    await k.send('Profiler.enable');
    await k.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
    let n = 1;
    await k.send(...consoleCmd('profile', `k-${n}`));
    await sleep(1000);
    for (let i = 0; i < reps; i++) {
      const st = await timed(t, k, 'Profiler.start');
      await sleep(windowS * 1000);
      const sp = await timed(t, k, 'Profiler.stop');
      await k.send(...consoleCmd('profile', `k-${n + 1}`));
      const before = k.events.length;
      const end = await timed(t, k, ...consoleCmd('profileEnd', `k-${n}`));
      n++;
      const ev = k.events.slice(before).find((e) => e.method === 'Profiler.consoleProfileFinished');
      Object.entries({
        start: st.ms,
        startStall: st.stall,
        stop: sp.ms,
        stopStall: sp.stall,
        bytes: sp.bytes,
        end: end.ms,
        endStall: end.stall,
        endBytes: ev?.bytes ?? NaN,
      }).forEach(([key, v]) => rows.kept[key].push(v));
    }
    k.close();
    for (const [mode, r] of Object.entries(rows)) {
      console.log(
        `| ${version} | ${mode === 'fresh' ? 'a profiler of its own' : 'cut from the kept profiler'} | ${f(r.start)} | ${f(r.startStall)} | ${f(r.stop)} | ${f(r.stopStall)} | ${kib(r.bytes)} | ${r.end ? f(r.end) : '-'} | ${r.end ? f(r.endStall) : '-'} | ${r.end ? kib(r.endBytes) : '-'} |`,
      );
    }
  } finally {
    t.proc.kill('SIGKILL');
  }
}
console.log(
  `(median (min-max) of ${reps} windows of ${windowS} s at ${INTERVAL_US / 1000} ms, ${ballastMiB} MiB of ballast on the target's heap; stall: the target's largest event-loop delay from just before the command to 50 ms after its answer (1 ms resolution; the busy app's own turns are a few ms); load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(', ')})`,
);
