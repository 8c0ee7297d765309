// Measures nodeprof's own peak RSS while it streams a heap snapshot of a big target, to show that
// its memory does not grow with the snapshot. Usage (after npm run build):
//   node bench/snapshot-rss.mjs [items=1500000]
// Starts fixtures/bigheap.js with that many items (~4 snapshot nodes each), runs
// `nodeprof attach <port> --heap-snapshot -o <tmp>`, samples /proc/<pid>/status (VmHWM, the
// kernel's own peak RSS) until it exits, and prints heap, snapshot size and peak RSS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const items = Number(process.argv[2] ?? 1_500_000);
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-bench-')), 'big.heapsnapshot');

const target = spawn(process.execPath, ['--max-old-space-size=8192', '--inspect=127.0.0.1:0', path.join(root, 'fixtures/bigheap.js'), String(items)], { stdio: ['ignore', 'pipe', 'pipe'] });
let tout = '';
let terr = '';
target.stdout.on('data', (d) => (tout += d));
target.stderr.on('data', (d) => (terr += d));
try {
  const t0 = Date.now();
  while (!/ready/.test(tout) || !/127\.0\.0\.1:(\d+)\//.test(terr)) {
    if (Date.now() - t0 > 300_000 || target.exitCode !== null) throw new Error(`target did not start: ${terr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = /127\.0\.0\.1:(\d+)\//.exec(terr)[1];
  console.log(`target: ${tout.trim()}`);

  const started = Date.now();
  const cli = spawn(process.execPath, [path.join(root, 'bin/nodeprof.js'), 'attach', port, '--heap-snapshot', '-o', out], { stdio: ['ignore', 'inherit', 'inherit'] });
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${cli.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // exited
    }
  }, 20);
  const code = await new Promise((r) => cli.on('exit', r));
  clearInterval(poll);
  const size = fs.statSync(out).size;
  const targetPeak = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${target.pid}/status`, 'utf8'))?.[1];
  console.log(`nodeprof exit ${code} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`snapshot: ${(size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`nodeprof peak RSS (VmHWM): ${(peakKb / 1024).toFixed(1)} MiB`);
  console.log(`target peak RSS (VmHWM): ${(Number(targetPeak) / 1024).toFixed(1)} MiB`);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
} finally {
  target.kill('SIGKILL');
}
