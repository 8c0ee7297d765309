// serve --all's own cost: 20 idle Node targets (plain, opened with --open-inspectors), scraped by
// Grafana Alloy's default loop (every 15 s: profile?seconds=14, allocs, goroutine, mutex, block per
// target, as pyroscope.scrape runs them). Prints serve's peak RSS and its CPU over the scrape phase.
// Run after npm run build:  node bench/fleet-idle.mjs [targets=20] [seconds=60]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] || 20);
const SECONDS = Number(process.argv[3] || 60);
const INTERVAL_S = 15;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-fleet-bench-'));
const app = path.join(dir, 'idle-app.js');
fs.writeFileSync(app, "setInterval(function idleTick() { JSON.stringify({ t: Date.now() }); }, 100);\nprocess.stdout.write('ready\\n');\n");

const kids = [];
const start = (args, opts = {}) => {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  kids.push(p);
  return p;
};
const get = (url) =>
  new Promise((resolve) => {
    http
      .get(url, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      })
      .on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
  });
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(x[11]) + Number(x[12]); // utime + stime
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const HZ = 100;

try {
  await Promise.all(Array.from({ length: N }, () => new Promise((resolve) => start([app]).stdout.once('data', resolve))));
  const serve = start([
    path.join(ROOT, 'bin/nodeprof.js'),
    'serve',
    '--all',
    '--open-inspectors',
    '--quiet',
    '--match',
    path.basename(dir),
    '--listen',
    '127.0.0.1:0',
  ]);
  let err = '';
  serve.stderr.on('data', (d) => (err += d));
  while (!/serving (http:\/\/\S+?\/) /.test(err)) await new Promise((r) => setTimeout(r, 100));
  const base = /serving (http:\/\/\S+?\/) /.exec(err)[1];
  const t0 = Date.now();
  for (;;) {
    const sd = JSON.parse((await get(`${base}targets`)).body.toString());
    const ok = await Promise.all(sd.map((e) => get(`http://${e.targets[0]}${e.labels.__profile_path_prefix__}/debug/pprof/goroutine`)));
    if (sd.length === N && ok.every((r) => r.status === 200)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`${N} targets served after ${((Date.now() - t0) / 1000).toFixed(1)} s; RSS ${(rssKiB(serve.pid) / 1024).toFixed(1)} MiB`);
  const sd = JSON.parse((await get(`${base}targets`)).body.toString());
  const cpu0 = cpuTicks(serve.pid);
  const w0 = Date.now();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(serve.pid))), 250);
  let bad = 0;
  for (let round = 0; round * INTERVAL_S < SECONDS; round++) {
    const started = Date.now();
    const jobs = sd.flatMap((e) =>
      ['profile?seconds=14', 'allocs', 'goroutine', 'mutex', 'block'].map((p) =>
        get(`http://${e.targets[0]}${e.labels.__profile_path_prefix__}/debug/pprof/${p}`),
      ),
    );
    // Alloy runs each job on its own ticker; the short ones are done long before the next round.
    const answers = await Promise.all(jobs);
    bad += answers.filter((a) => a.status !== 200).length;
    const left = INTERVAL_S * 1000 - (Date.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
  clearInterval(sampler);
  const cpuS = (cpuTicks(serve.pid) - cpu0) / HZ;
  const wallS = (Date.now() - w0) / 1000;
  console.log(
    `scrape phase ${wallS.toFixed(0)} s: serve CPU ${cpuS.toFixed(2)} s = ${((100 * cpuS) / wallS).toFixed(2)} % of a core; peak RSS ${(peak / 1024).toFixed(1)} MiB; non-200 answers ${bad}`,
  );
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
} finally {
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
