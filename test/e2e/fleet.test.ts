// serve --all --open-inspectors as Grafana Alloy uses it: a scraper reads /targets (Prometheus HTTP
// service discovery) and runs Alloy's default jobs against each __profile_path_prefix__. Four Node
// processes, each burning its own function: one started with --inspect, two plain, one in a network
// and UTS namespace of its own (unshare -n -u, reached through a relay); one more started later,
// one killed. After serve exits, no inspector it opened still listens, and every target still runs.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Profile } from 'pprof-format';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { alive, cliReadableByAll, killAll, runCli, startCli, type CliRun } from '../helpers/processes.js';
import { request } from '../helpers/serve.js';
import { lockPort9229, unlockPort9229 } from '../helpers/port9229.js';

const HOT = ['hotAlpha', 'hotBravo', 'hotCharlie', 'hotDelta', 'hotEcho'] as const;
type Hot = (typeof HOT)[number];

let dir: string;
let fixture: string;
let service: string;
const targets = new Set<ChildProcess>();

beforeAll(() => {
  // Generated per run: each hot function is a real function of the source, picked by argv.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-fleet-'));
  service = `fleet-e2e-${process.pid}`;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: service, private: true }));
  const fns = HOT.map((n) => `function ${n}() {\n  let x = 0;\n  for (let i = 0; i < 1e6; i++) x += Math.sqrt(i) * Math.sin(i);\n  return x;\n}`).join('\n');
  fixture = path.join(dir, 'fleet-app.js');
  fs.writeFileSync(
    fixture,
    `${fns}\nconst hot = { ${HOT.join(', ')} }[process.argv[2]];\nlet sink = 0;\nfunction loop() {\n  sink += hot();\n  setImmediate(loop);\n}\nsetImmediate(loop);\nprocess.stdout.write(\`ready \${process.pid}\\n\`);\n`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// --open-inspectors signals the plain targets (port 9229, as pid.test.ts does): one file at a time.
beforeAll(lockPort9229, 660_000);
afterAll(unlockPort9229);

async function killTargets(): Promise<void> {
  await Promise.all(
    [...targets].map(
      (p) =>
        new Promise<void>((resolve) => {
          targets.delete(p);
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

afterEach(async () => {
  await killAll();
  await killTargets();
});

interface Target {
  proc: ChildProcess;
  pid: number;
  hot: Hot;
}

/** Starts the fixture burning `hot`; `netns`: in its own network and UTS namespace, named `fleet-boxed`. */
function startApp(hot: Hot, opts: { inspect?: boolean; netns?: boolean } = {}): Promise<Target> {
  const nodeArgs = [...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []), fixture, hot];
  const proc = opts.netns
    ? spawn('unshare', ['--net', '--uts', 'sh', '-c', 'ip link set lo up && hostname fleet-boxed && exec "$0" "$@"', process.execPath, ...nodeArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  targets.add(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      // unshare execs sh, which execs node: the pid we spawned is the app's.
      if (m) resolve({ proc, pid: proc.pid!, hot });
    });
    proc.on('exit', (code) => reject(new Error(`${hot} exited ${code}: ${err}`)));
  });
}

interface SdEntry {
  targets: string[];
  labels: Record<string, string>;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Alloy's pyroscope.scrape default profiling config (process_cpu is a delta: ?seconds=).
const JOBS = [
  { name: 'process_cpu', path: '/debug/pprof/profile?seconds=3', types: ['samples/count', 'cpu/nanoseconds'] },
  // The heap sampler in its default (inuse) mode answers allocs with what is live.
  { name: 'memory', path: '/debug/pprof/allocs', types: ['inuse_objects/count', 'inuse_space/bytes'] },
  { name: 'goroutine', path: '/debug/pprof/goroutine', types: ['goroutine/count'] },
  { name: 'mutex', path: '/debug/pprof/mutex', types: ['contentions/count', 'delay/nanoseconds'] },
  { name: 'block', path: '/debug/pprof/block', types: ['contentions/count', 'delay/nanoseconds'] },
];

/** One scrape of every default job against one SD entry, as Alloy builds the URLs: http://<target><prefix><path>. */
async function scrape(entry: SdEntry): Promise<Map<string, Profile>> {
  const out = new Map<string, Profile>();
  await Promise.all(
    JOBS.map(async (job) => {
      const url = `http://${entry.targets[0]}${entry.labels.__profile_path_prefix__}${job.path}`;
      const a = await poll(`${url} to answer`, async () => {
        const r = await request(url, { timeoutMs: 30_000 });
        // Still attaching (503), or an attach that failed and is retried (502): both say Retry-After, as Alloy retries next round.
        return (r.status === 503 || r.status === 502) && r.headers['retry-after'] ? undefined : r;
      });
      expect({ url, status: a.status, type: a.headers['content-type'], reason: a.status === 200 ? '' : a.text }).toEqual({
        url,
        status: 200,
        type: 'application/octet-stream',
        reason: '',
      });
      const p = loadProfile(a.body);
      expect(sampleTypes(p)).toEqual(job.types);
      out.set(job.name, p);
    }),
  );
  return out;
}

function topFunction(p: Profile): string | undefined {
  const { flat } = byFunction(p, 'cpu');
  return [...flat.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** The listening TCP sockets of a pid, as `ss -ltnp` shows them (in its own network namespace for the boxed one). */
function listening(pid: number, netns = false): string[] {
  const out = netns
    ? execFileSync('nsenter', [`--target=${pid}`, '--net', 'ss', '-ltnpH'], { encoding: 'utf8' })
    : execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  // ss pads its columns to the widest socket on the machine, so the same socket prints differently as other
  // processes come and go: compare fields, not padding.
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/).join(' '));
}

describe('serve --all --open-inspectors, scraped like Grafana Alloy', () => {
  test('every process, its own hot function and labels; later ones appear, killed ones go; inspectors closed at exit', async () => {
    const inspected = await startApp('hotAlpha', { inspect: true });
    const plainA = await startApp('hotBravo');
    const plainB = await startApp('hotCharlie');
    const boxed = await startApp('hotDelta', { netns: true });
    const inspectedBefore = listening(inspected.pid);
    expect(inspectedBefore).toHaveLength(1);

    // --match keeps serve to this test's processes (this machine runs many other Node processes);
    // the sampling settings reach every process's facade.
    const serve: CliRun = startCli(
      [
        'serve',
        '--all',
        '--open-inspectors',
        '--match',
        path.basename(dir),
        '--listen',
        '127.0.0.1:0',
        '--quiet',
        '--cpu-interval',
        '20ms',
        '--heap-interval',
        '1MiB',
      ],
      { timeoutMs: 300_000 },
    );
    let err = '';
    serve.proc.stderr!.on('data', (d) => (err += d));
    await serve.waitForStderr(/serving http:\/\/\S+\//, 30_000);
    const base = /serving (http:\/\/\S+?\/) /.exec(err)![1]!;
    try {
      await scenario(base);
    } catch (e) {
      // serve's own account of each process helps more than the assertion alone.
      throw new Error(`${(e as Error).message}\n--- serve stderr:\n${err}`);
    }

    async function scenario(base: string): Promise<void> {
      const sd = async (n: number, has?: number, hasNot?: number) => {
        const r = await request(`${base}targets`);
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toBe('application/json');
        const entries = JSON.parse(r.text) as SdEntry[];
        const pids = entries.map((e) => Number(e.labels.pid));
        if (entries.length !== n || (has !== undefined && !pids.includes(has)) || (hasNot !== undefined && pids.includes(hasNot))) return undefined;
        return entries;
      };
      const all = [inspected, plainA, plainB, boxed];
      const entries = await poll('four processes in /targets', () => sd(4));
      expect(entries.map((e) => Number(e.labels.pid)).sort()).toEqual(all.map((t) => t.pid).sort());

      const checkTarget = async (t: Target, list: SdEntry[]) => {
        const entry = list.find((e) => Number(e.labels.pid) === t.pid)!;
        expect(entry.targets).toEqual([new URL(base).host]);
        expect(entry.labels).toEqual({
          __profile_path_prefix__: `/pid/${t.pid}`,
          service_name: service,
          pid: String(t.pid),
          node_version: process.version,
          hostname: t === boxed ? 'fleet-boxed' : os.hostname(),
        });
        const profiles = await scrape(entry);
        expect({ pid: t.pid, top: topFunction(profiles.get('process_cpu')!) }).toEqual({ pid: t.pid, top: t.hot });
        expect({ cpu: Number(profiles.get('process_cpu')!.period), heap: Number(profiles.get('memory')!.period) }).toEqual({
          cpu: 20_000_000,
          heap: 1024 * 1024,
        });
      };
      for (const t of all) await checkTarget(t, entries);

      // The index lists them, with links.
      const index = await request(base);
      expect(index.status).toBe(200);
      for (const t of all) expect(index.text).toContain(`href="/pid/${t.pid}/debug/pprof/"`);

      // One started later appears; one killed disappears (404 with the reason).
      const later = await startApp('hotEcho');
      const withLater = await poll('the later process in /targets', () => sd(5, later.pid));
      await checkTarget(later, withLater);
      plainB.proc.kill('SIGKILL');
      await poll('the killed process gone from /targets', () => sd(4, undefined, plainB.pid));
      const goneAnswer = await request(`${base}pid/${plainB.pid}/debug/pprof/goroutine`);
      expect(goneAnswer.status).toBe(404);
      expect(goneAnswer.text).toMatch(new RegExp(`^pid ${plainB.pid} exited at .*: it is no longer served`));

      // serve opened the inspectors of the plain ones (SIGUSR1, moved off 9229): they listen now.
      for (const t of [plainA, later]) expect(listening(t.pid)).toHaveLength(1);
      expect(listening(boxed.pid, true)).toHaveLength(1);

      serve.proc.kill('SIGTERM');
      const done = await serve.done;
      expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/warning|unexpected/) as unknown as string });
      // Nothing serve opened still listens; the --inspect one is as it was; every target still runs.
      for (const t of [plainA, later]) expect(listening(t.pid)).toEqual([]);
      expect(listening(boxed.pid, true)).toEqual([]);
      expect(listening(inspected.pid)).toEqual(inspectedBefore);
      for (const t of [inspected, plainA, boxed, later]) expect(alive(t.pid)).toBe(true);
    }
  });
});

describe('serve --all without the privilege to enter a namespace', () => {
  test('a process in another network namespace is left out of /targets and listed on the index with the reason', async () => {
    // The app runs as nobody in a network namespace of its own; serve --all runs as nobody too, so
    // it sees the process but may not enter its namespace (no CAP_SYS_ADMIN).
    fs.chmodSync(dir, 0o755);
    const proc = spawn(
      'unshare',
      [
        '--net',
        'sh',
        '-c',
        'ip link set lo up && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@"',
        process.execPath,
        '--inspect=127.0.0.1:0',
        fixture,
        'hotAlpha',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    targets.add(proc);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d) => {
        out += d;
        if (/ready \d+/.test(out)) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`the app exited ${code}`)));
    });
    const serve = spawn(process.execPath, [cliReadableByAll(), 'serve', '--all', '--match', path.basename(dir), '--listen', '127.0.0.1:0'], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    serve.stderr.on('data', (d) => (err += d));
    try {
      await poll('the reason on stderr', async () => (/is not served: it is in another network namespace/.test(err) ? true : undefined), 30_000);
      const base = /serving (http:\/\/\S+?\/) /.exec(err)![1]!;
      expect(JSON.parse((await request(`${base}targets`)).text)).toEqual([]);
      const index = (await request(base)).text;
      expect(index).toContain(`<td>${proc.pid}</td>`);
      expect(index).toMatch(/not served: it is in another network namespace \(a container\): reaching it needs root \(CAP_SYS_ADMIN/);
      expect((await request(`${base}pid/${proc.pid}/debug/pprof/goroutine`)).status).toBe(404);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.on('close', r));
    }
  });
});

describe('serve --all: bad input, one line and exit 2', () => {
  test.each([
    [['serve', '--all', '--target', '9229'], /^nodeprof: give either --all or --target, not both$/],
    [['serve', '--all', '--match', '(x'], /^nodeprof: invalid --match: \/\(x\/: Unterminated group$/],
    [['serve', '--all', '--exclude', '[a'], /^nodeprof: invalid --exclude: \/\[a\/: Unterminated character class$/],
    [['serve', '--target', '9229', '--match', 'x'], /^nodeprof: --match applies to serve --all only$/],
    [['serve', '--open-inspectors'], /^nodeprof: --open-inspectors applies to serve --all only$/],
    [['serve'], /^nodeprof: give --target/],
  ])('%j', async (args, message) => {
    const r = await runCli([...args, '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
