// Profiles that mean what they say (issue 26): the profiler's start-up on a large heap is in no
// frame and inside the seconds asked for; cpu/nanoseconds is CPU time on a loaded core; code made
// by `new Function` is one row per script; what the user reads on stderr says things once.
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Profile } from 'pprof-format';
import { str } from '../../src/pprof/query.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { request, startServe } from '../helpers/serve.js';

const hogs: ChildProcess[] = [];
afterEach(async () => {
  for (const h of hogs.splice(0)) if (h.pid && h.exitCode === null) h.kill('SIGKILL');
  await killAll();
});

const comments = (p: Profile) => p.comment.map((i) => str(p, i));

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-meaning-'));
}

/** The main thread's user + system CPU time, ns (/proc/<pid>/task/<pid>/stat, 1/100 s ticks). */
function threadCpuNs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e9) / 100;
}

describe('the profiler start-up on a large heap', () => {
  // V8 logs every code object on the heap as the profiler starts, on the main thread: about 1 s on
  // this ~440 MiB heap (bench P10). Before: one (program) sample carried it all, and the answer came
  // that much after the seconds asked for.
  test('profile?seconds=2 is answered within 2 s + 1 s, and the start-up is in no frame', async () => {
    const t = await startTarget('bigheap.js', { args: ['2800000'] });
    const s = await startServe(t.port, ['--quiet']);
    const asked = Date.now();
    // At a rate other than serve's own, the window starts a profiler of its own (not the kept one).
    const r = await request(`${s.url}profile?seconds=2&hz=1000`, { timeoutMs: 60_000 });
    const took = Date.now() - asked;
    expect(r.status).toBe(200);
    const p = loadProfile(r.body);
    const text = comments(p).join('\n');
    const start = /Profiler\.start took (\d+)ms/.exec(text);
    // The start-up is measurable here (else this test proves nothing), and inside the 2 s.
    expect(start).not.toBeNull();
    expect(Number(start![1])).toBeGreaterThan(150);
    expect(took).toBeLessThan(2000 + 1000);
    expect(text).toMatch(/the first sample came \d+ms after Profiler\.start .*in no frame/);
    // No sample carries more than a few intervals (1 ms) of CPU: the start-up is nobody's.
    const cpu = p.sampleType.findIndex((st) => str(p, st.type) === 'cpu');
    for (const smp of p.sample) expect(Number(smp.value[cpu]) / Number(smp.value[0])).toBeLessThan(50e6);
  }, 180_000);
});

describe('cpu/nanoseconds is CPU time', () => {
  test('a target sharing its core with a hog: the profile total is its measured CPU time, not the wall time', async () => {
    const t = await startTarget('busy.js');
    execFileSync('taskset', ['-p', '-c', '0', String(t.pid)], { stdio: 'ignore' });
    // Another process spinning on the same core: the target is runnable all the time, running half of it.
    const hog = spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
    hogs.push(hog);
    const dir = tmpdir();
    const file = path.join(dir, 'cpu.pb.gz');
    const before = threadCpuNs(t.pid);
    const wallStart = Date.now();
    const r = await runCli(['attach', String(t.port), '--cpu', '3s', '-o', file, '--quiet']);
    const used = threadCpuNs(t.pid) - before;
    const wall = (Date.now() - wallStart) * 1e6;
    expect(r.code).toBe(0);
    const p = loadProfile(file);
    const { total } = byFunction(p, 'cpu');
    const text = comments(p).join('\n');
    // V8's samples are on a wall clock: busy about the whole 3 s (a thread waiting for its core
    // still counts), while the core was shared and the thread used much less.
    const m = /cpu\/nanoseconds is CPU time: V8 samples on a wall clock and counted ([\d.]+)s of busy samples .* used ([\d.]+)s of CPU .*scaled by 0\.\d+/.exec(
      text,
    );
    expect(m).not.toBeNull();
    expect(Number(m![1]) * 1e9).toBeGreaterThan(2e9);
    expect(used).toBeLessThan(wall * 0.8);
    // The measure from outside spans the whole CLI run (its start, connecting, converting), more
    // than the window: compared as shares of a core, which hold steady while the hog spins.
    const share = total / Number(p.durationNanos);
    expect(Math.abs(share - used / wall)).toBeLessThan(0.2);
    expect(total).toBeLessThanOrEqual(used + 100e6);
    expect(total).toBeLessThan(Number(m![1]) * 1e9 * 0.8);
  }, 60_000);
});

describe('code without a file', () => {
  test('`new Function` code from two sources shows as two rows', async () => {
    const t = await startTarget('new-function.js');
    const dir = tmpdir();
    const file = path.join(dir, 'cpu.pb.gz');
    const r = await runCli(['attach', String(t.port), '--cpu', '1500ms', '-o', file, '--quiet']);
    expect(r.code).toBe(0);
    const { flat } = byFunction(loadProfile(file));
    const rows = [...flat.keys()].filter((n) => /^\(anonymous eval#\d+:1\)$/.test(n));
    expect(rows).toHaveLength(2);
    expect([...flat.keys()]).not.toContain('(anonymous)');
  }, 60_000);
});

describe('what the user reads', () => {
  test('pid:N says the pid once; collapsed output is in samples', async () => {
    const t = await startTarget('busy.js');
    const r = await runCli(['attach', `pid:${t.pid}`, '--cpu', '1s', '--format', 'collapsed', '-o', '-']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`collecting CPU from pid ${t.pid} \\(127\\.0\\.0\\.1:${t.port}\\) for 1s;`));
    expect(r.stderr).not.toMatch(/\(pid \d+ \(/);
    const values = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    // About 1,000 samples at 1 ms; nanoseconds would be about 1e9.
    expect(values.reduce((a, b) => a + b, 0)).toBeLessThan(5000);
  }, 60_000);

  test('a package under node_modules that names a map it does not ship: one note, no warning, nothing under -q', async () => {
    const dir = tmpdir();
    const pkg = path.join(dir, 'node_modules', 'hotpkg');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), '{ "name": "hotpkg", "main": "index.js" }\n');
    fs.writeFileSync(
      path.join(pkg, 'index.js'),
      'exports.hot = function hot() { let x = 0; for (let i = 0; i < 2e6; i++) x += Math.sqrt(i); setImmediate(hot); return x; };\n//# sourceMappingURL=index.js.map\n',
    );
    fs.writeFileSync(path.join(dir, 'main.js'), "require('hotpkg').hot();\nprocess.stdout.write(`ready ${process.pid}\\n`);\n");
    const target = spawn(process.execPath, ['--inspect=127.0.0.1:0', path.join(dir, 'main.js')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    hogs.push(target);
    let err = '';
    target.stderr!.on('data', (d) => (err += d));
    const deadline = Date.now() + 20_000;
    let port = 0;
    while (!port && Date.now() < deadline) {
      port = Number(/ws:\/\/127\.0\.0\.1:(\d+)\//.exec(err)?.[1] ?? 0);
      if (!port) await new Promise((res) => setTimeout(res, 20));
    }
    expect(port).toBeGreaterThan(0);
    const loud = await runCli(['attach', String(port), '--cpu', '1s', '-o', path.join(dir, 'a.pb.gz')]);
    expect(loud.code).toBe(0);
    expect(loud.stderr).not.toMatch(/^warning/m);
    expect(loud.stderr.match(/under node_modules name a map their package does not ship \(index\.js\)/g)).toHaveLength(1);
    const quiet = await runCli(['attach', String(port), '--cpu', '1s', '-o', path.join(dir, 'b.pb.gz'), '-q']);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  }, 60_000);
});
