// How long the blocked-loop repair holds a target: Debugger.enable (announces every loaded script),
// the pause itself, and the whole intervention, on the small stuck-server fixture and on the same
// server after it has loaded a few thousand generated modules.
// Usage: npm run build && node bench/blocked-pause.mjs [moduleCounts=0,3000,10000] [reps=5]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeEventLoop, repairRunningFrames } from '../dist/src/collect/blocked.js';
import { connectWebSocket } from '../dist/src/target/remote.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const counts = (process.argv[2] ?? '0,3000,10000').split(',').map(Number);
const reps = Number(process.argv[3] ?? 5);

function generate(n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-modules-'));
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(
      path.join(dir, `m${i}.js`),
      `'use strict';\nfunction f${i}(a, b) { return a * ${i} + b; }\nclass C${i} { get v() { return f${i}(1, 2); } }\nmodule.exports = { f${i}, C${i}, name: 'm${i}' };\n`,
    );
  }
  return dir;
}

function start(env) {
  const proc = spawn(process.execPath, ['--inspect=127.0.0.1:0', path.join(root, 'fixtures/stuck-server.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const ws = /ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+/.exec(err)?.[0];
      const http = /http (\d+)/.exec(out)?.[1];
      if (ws && http && /ready/.test(out)) {
        clearInterval(t);
        resolve({ proc, ws, http: Number(http), out: () => out });
      }
    }, 20);
    setTimeout(() => reject(new Error(`fixture did not start: ${err}`)), 120_000);
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(
  `node ${process.version}, ${os.cpus().length} cpus, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log('modules  scripts  healthy-probe-ms      enable-ms        land-ms      paused-ms     disable-ms       total-ms   (median (min-max) of %d)', reps);
for (const n of counts) {
  const dir = n ? generate(n) : undefined;
  const t = await start(dir ? { NODEPROF_FIXTURE_REQUIRE_DIR: dir } : {});
  const session = await connectWebSocket(t.ws, t.ws);
  const healthy = [];
  for (let i = 0; i < reps; i++) healthy.push((await probeEventLoop(session)).answeredInMs);
  fetch(`http://127.0.0.1:${t.http}/spin?ms=600000`).catch(() => undefined);
  while (!/spinning/.test(t.out())) await new Promise((r) => setTimeout(r, 20));
  const rows = [];
  for (let i = 0; i < reps; i++) {
    const probe = await probeEventLoop(session);
    if (probe.state !== 'blocked') throw new Error(`expected a blocked loop, got ${probe.state}`);
    const r = await repairRunningFrames(session);
    if (!r.repaired) throw new Error(`repair failed: ${r.reason}`);
    rows.push(r);
  }
  const col = (k) => `${median(rows.map((r) => r[k]))} (${Math.min(...rows.map((r) => r[k]))}-${Math.max(...rows.map((r) => r[k]))})`;
  console.log(
    `${String(n).padStart(7)}  ${String(rows[0].scripts).padStart(7)}  ${String(median(healthy)).padStart(16)}  ${['enableMs', 'landMs', 'pausedMs', 'disableMs', 'totalMs'].map((k) => col(k).padStart(13)).join('  ')}`,
  );
  await session.close();
  t.proc.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
