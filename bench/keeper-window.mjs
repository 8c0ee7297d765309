// What one serve window costs the target's main thread, a window of its own against one cut from a
// kept profiler (src/serve/cpu-keeper.ts): Profiler.start (a fresh profiler logs every code object
// of the heap to it), Profiler.stop (V8 builds and serializes the window's profile), and for the
// kept profiler the console-profile rotation (profile(next), then profileEnd(previous), which makes
// V8 serialize the whole previous console profile: it covers the window and the time since the
// last rotation). Round trips from the client, and the target's largest event-loop delay (1 ms
// resolution) around each step. The target is the synthetic app, busy (bench/fixtures/cpu-work.js
// loop), with about `ballastMiB` MiB of live objects on its heap (Profiler.start's cost grows with the heap).
// Usage: npm run build && node bench/keeper-window.mjs [majors=20,22] [reps=5] [windowS=4] [ballastMiB=100]
import { execFileSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const majors = (process.argv[2] ?? '20,22').split(',');
const reps = Number(process.argv[3] ?? 5);
const windowS = Number(process.argv[4] ?? 4);
const ballastMiB = Number(process.argv[5] ?? 100);
const INTERVAL_US = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];

function nodeFor(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  return execFileSync(process.execPath, [path.join(root, 'scripts/fetch-node.js'), major], { encoding: 'utf8' }).trim();
}

async function startTarget(node) {
  const proc = spawn(node, ['--inspect=127.0.0.1:0', path.join(root, 'bench/fixtures/cpu-work.js'), 'loop'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 300; i++) {
    const ws = /ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+/.exec(err)?.[0];
    if (ws && /ready/.test(out)) {
      const ask = async (cmd, re) => {
        const from = out.length;
        proc.stdin.write(`${cmd}\n`);
        for (let j = 0; j < 24000; j++) {
          const m = re.exec(out.slice(from));
          if (m) return m;
          await sleep(5);
        }
        throw new Error(`no ${re} after ${cmd}`);
      };
      return { proc, ws, ask };
    }
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`target did not start: ${err}`);
}

/** A raw CDP websocket: send() resolves with the answer's arrival time and text; events are counted by size. */
function session(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 2 ** 30 });
    let id = 0;
    const waiting = new Map();
    const events = [];
    ws.on('message', (data) => {
      const at = performance.now();
      const text = data.toString('utf8');
      const m = /^\{"id":(\d+)/.exec(text);
      const w = m && waiting.get(Number(m[1]));
      if (w) {
        waiting.delete(Number(m[1]));
        w({ at, text });
      } else if (!m) events.push({ method: /"method":"([^"]+)"/.exec(text)?.[1], bytes: text.length });
    });
    ws.on('open', () =>
      resolve({
        send(method, params = {}) {
          const n = ++id;
          ws.send(JSON.stringify({ id: n, method, params }));
          return new Promise((r) => waiting.set(n, r));
        },
        events,
        close: () => ws.close(),
      }),
    );
    ws.on('error', reject);
  });
}

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
