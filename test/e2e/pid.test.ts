// pid:<PID> targets against processes started WITHOUT --inspect: nodeprof opens their inspector
// with SIGUSR1 (Node binds 127.0.0.1:9229) and closes it again. These are the only tests that use
// port 9229, so they live in this one file and run one after another.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { alive, cliReadableByAll, FIXTURES, killAll, ranFor, runCli, startCli, startTarget } from '../helpers/processes.js';
import { stacks } from '../../src/pprof/query.js';
import { findInspectorTarget } from '../../src/target/discover.js';
import { moveExpression } from '../../src/target/pid.js';
import { listenersOf } from '../../src/target/proc.js';
import { connectWebSocket } from '../../src/target/remote.js';
import { nodeBinary, targetMajors } from '../helpers/node-versions.js';
import { request, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';
import { lockPort9229, unlockPort9229 } from '../helpers/port9229.js';

afterEach(killAll);

const INSPECTOR = 9229;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function tmpfile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-pid-')), name);
}

// fleet.test.ts signals processes too: one file at a time.
beforeAll(lockPort9229, 660_000);
afterAll(unlockPort9229);

beforeAll(async () => {
  if (await portOpen(INSPECTOR)) {
    throw new Error(
      `port ${INSPECTOR} is already in use on 127.0.0.1: these tests need it free, because SIGUSR1 makes Node open its inspector there (find the holder with: ss -ltnp | grep ${INSPECTOR})`,
    );
  }
});

describe('attach pid:<PID>', () => {
  test('opens the inspector, profiles the hot function, closes it again; a second attach works', async () => {
    const t = await startTarget('busy.js', { inspect: false });
    const out = tmpfile('cpu.pb.gz');
    const r = await runCli(['attach', `pid:${t.pid}`, '--cpu', '2s', '-o', out]);
    expect(r.code).toBe(0);
    const p = loadProfile(out);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.7);
    expect(stacks(p).some((s) => s.frames[0]!.file === path.join(FIXTURES, 'busy.js'))).toBe(true);
    // left as found: the port nodeprof opened is closed, the process runs on
    expect(await portOpen(INSPECTOR)).toBe(false);
    expect(alive(t.pid)).toBe(true);
    expect(t.stderr()).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:9229\//);

    const again = await runCli(['attach', '--pid', String(t.pid), '--cpu', '1s']);
    expect(again.code).toBe(0);
    expect(byFunction(loadProfile(again.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(await portOpen(INSPECTOR)).toBe(false);
  });

  test('--keep-inspector leaves it open and says where; a later attach leaves it open too', async () => {
    const t = await startTarget('busy.js', { inspect: false });
    const r = await runCli(['attach', `pid:${t.pid}`, '--cpu', '1s', '--keep-inspector', '-o', tmpfile('a.pb.gz')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`inspector of pid ${t.pid} stays open on 127\\.0\\.0\\.1:9229`));
    expect(await portOpen(INSPECTOR)).toBe(true);

    // now found open, so not ours to close
    const again = await runCli(['attach', `pid:${t.pid}`, '--cpu', '1s']);
    expect(again.code).toBe(0);
    expect(byFunction(loadProfile(again.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(await portOpen(INSPECTOR)).toBe(true);
    // and the plain port spelling reaches the same process
    const byPort = await runCli(['attach', String(INSPECTOR), '--cpu', '500ms']);
    expect(byPort.code).toBe(0);
  });

  test('two processes: one after the other works; while one holds 9229 the other gets "held by PID"', async () => {
    const a = await startTarget('busy.js', { inspect: false });
    const b = await startTarget('busy.js', { inspect: false });
    expect((await runCli(['attach', `pid:${a.pid}`, '--cpu', '500ms'])).code).toBe(0);
    expect((await runCli(['attach', `pid:${b.pid}`, '--cpu', '500ms'])).code).toBe(0);

    expect((await runCli(['attach', `pid:${a.pid}`, '--cpu', '500ms', '--keep-inspector'])).code).toBe(0);
    const held = await runCli(['attach', `pid:${b.pid}`, '--cpu', '500ms']);
    expect(held.code).toBe(1);
    expect(held.stderr.trim().split('\n')).toHaveLength(1);
    expect(held.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:9229 is already held by pid ${a.pid} \\(.*busy\\.js\\)`));
    // nodeprof looked before signalling: b never tried to open (and fail on) the port
    expect(b.stderr()).not.toMatch(/address already in use/);
    expect(alive(b.pid)).toBe(true);
  });

  test('Ctrl-C during the window still closes the inspector it opened', async () => {
    const t = await startTarget('busy.js', { inspect: false });
    const out = tmpfile('partial.pb.gz');
    const run = startCli(['attach', `pid:${t.pid}`, '--cpu', '30s', '-o', out]);
    await run.waitForStderr(/collecting CPU/, 30_000);
    expect(await portOpen(INSPECTOR)).toBe(true);
    await ranFor(t.pid, 300); // so the profile has samples of hotFunction
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    expect(await portOpen(INSPECTOR)).toBe(false);
  });
});

describe('ps and stack on a process without --inspect', () => {
  test('ps lists it with its Node version and no inspector; --json parses; an open inspector shows', async () => {
    const t = await startTarget('busy.js', { inspect: false });
    const r = await runCli(['ps']);
    expect(r.code).toBe(0);
    const line = r.stdout
      .toString()
      .split('\n')
      .find((l) => l.startsWith(`${t.pid} `));
    expect(line).toBeDefined();
    expect(line).toContain(process.version);
    expect(line).toMatch(/\s-\s.*busy\.js/);
    expect(r.stdout.toString().split('\n')[0]).toMatch(/^PID\s+NODE\s+INSPECTOR\s+COMMAND$/);

    const j = await runCli(['ps', '--json']);
    expect(j.code).toBe(0);
    const list = JSON.parse(j.stdout.toString()) as Array<{ pid: number; nodeVersion: string; inspector: string | null; argv: string[] }>;
    const mine = list.find((p) => p.pid === t.pid)!;
    expect(mine).toEqual({ pid: t.pid, nodeVersion: process.version, inspector: null, argv: [process.execPath, path.join(FIXTURES, 'busy.js')] });
    // ps itself is not listed, and only Node processes are
    expect(list.every((p) => p.argv.length > 0)).toBe(true);

    expect((await runCli(['attach', `pid:${t.pid}`, '--cpu', '500ms', '--keep-inspector'])).code).toBe(0);
    const open = JSON.parse((await runCli(['ps', '--json'])).stdout.toString()) as Array<{ pid: number; inspector: string | null }>;
    expect(open.find((p) => p.pid === t.pid)!.inspector).toBe('127.0.0.1:9229');
  });

  test('stack pid:<PID> names the function it is busy in; the process keeps running and the port is closed', async () => {
    const t = await startTarget('ticker.js', { inspect: false });
    const r = await runCli(['stack', `pid:${t.pid}`]);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    expect(text).toMatch(new RegExp(`^Process ${t.pid}: .*ticker\\.js\\nNode\\.js ${process.version.replace(/\./g, '\\.')}\\n\\nThread main:\\n`));
    // busy most of the time; the interval callback is the only other place it can be
    expect(text).toMatch(/^ {4}(busyFunction \(.*ticker\.js:\d+:\d+\)|\(anonymous ticker\.js:\d+\))/m);
    expect(r.stderr).toMatch(/main: paused for \d+ ms/);
    const ticks = Number(/tick (\d+)\n$/.exec(t.stdout())?.[1] ?? 0);
    await t.waitForStdout(new RegExp(`tick ${ticks + 3}\\n`), 10_000);
    expect(await portOpen(INSPECTOR)).toBe(false);
  });
});

describe('pid targets: bad input, one clear line each', () => {
  test('a process that is not Node (sleep) is refused and not signalled', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const r = await runCli(['attach', `pid:${sleeper.pid}`, '--cpu', '1s']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`pid ${sleeper.pid} is not a Node\\.js process \\(it runs .*sleep\\)`));
      // SIGUSR1 would have killed it
      expect(sleeper.exitCode).toBeNull();
      expect(alive(sleeper.pid!)).toBe(true);
      const s = await runCli(['stack', `pid:${sleeper.pid}`]);
      expect(s.code).toBe(1);
      expect(s.stderr).toMatch(/is not a Node\.js process/);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('a pid that does not exist', async () => {
    const gone = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => gone.on('exit', r));
    const r = await runCli(['attach', `pid:${gone.pid}`, '--cpu', '1s']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000); // generous: CLI start-up alone took up to 10 s on the shared test machine
    expect(r.stderr).toMatch(new RegExp(`no process with pid ${gone.pid}: .*nodeprof ps`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a process that exits while nodeprof waits for its inspector', async () => {
    const t = await startTarget('exit-on-sigusr1.js', { inspect: false });
    const r = await runCli(['attach', `pid:${t.pid}`, '--cpu', '1s']);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(20_000); // generous: CLI start-up alone took up to 10 s on the shared test machine
    expect(r.stderr).toMatch(new RegExp(`pid ${t.pid} exited while nodeprof waited for its inspector`));
  });

  test('a process in another network namespace (a container) is refused before it is signalled', async () => {
    const proc = spawn('unshare', ['-n', process.execPath, path.join(FIXTURES, 'busy.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d) => /ready/.test(String(d)) && resolve());
        proc.on('exit', (c) => reject(new Error(`unshare -n node exited (${c}): the test needs root or user namespaces`)));
      });
      const r = await runCli(['attach', `pid:${proc.pid}`, '--cpu', '1s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`pid ${proc.pid} is in another network namespace.*run nodeprof inside it`));
    } finally {
      proc.kill('SIGKILL');
    }
  });

  test("another user's process: permission denied, saying to run as that user", async () => {
    const t = await startTarget('busy.js', { inspect: false });
    // run nodeprof as nobody against our process (the tests run as root, as in CI), from a copy
    // nobody can read wherever the checkout lives
    const cli = spawn(process.execPath, [cliReadableByAll(), 'attach', `pid:${t.pid}`, '--cpu', '1s'], {
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    cli.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => cli.on('close', r));
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`permission denied for pid ${t.pid}: it belongs to another user; run nodeprof as that user \\(or as root\\)`));
  });

  test('usage: a target and --pid together, and a bad pid, are usage errors', async () => {
    expect((await runCli(['attach', '9229', '--pid', '1', '--cpu', '1s'])).code).toBe(2);
    expect((await runCli(['attach', 'pid:abc', '--cpu', '1s'])).code).toBe(2);
    expect((await runCli(['stack'])).code).toBe(2);
  });
});

describe('serve --target pid:<PID>', () => {
  /** The port of the inspector serve says it opened and moved, from its stderr notice. */
  function movedPort(stderr: string, pid: number): number {
    const m = new RegExp(
      `^nodeprof: opened the inspector of pid ${pid} \\(SIGUSR1\\) and moved it from 127\\.0\\.0\\.1:9229 to 127\\.0\\.0\\.1:(\\d+): until serve stops, any local user who connects to it can run code in pid ${pid} as \\S+ \\(uid \\d+\\); after a kill -9 of nodeprof it stays open until pid ${pid} exits$`,
      'm',
    ).exec(stderr);
    if (!m) throw new Error(`no notice of the moved inspector in: ${stderr}`);
    return Number(m[1]);
  }

  async function listeningPorts(pid: number): Promise<number[]> {
    return (await listenersOf(pid)).map((l) => l.port).sort((a, b) => a - b);
  }

  async function until(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
    return waitFor(check, ms, 'the condition').catch(() => check());
  }

  test('moves the inspector it opened off 9229 and says so; serves through it; SIGTERM closes it; the process runs on', async () => {
    const t = await startTarget('ticker.js', { inspect: false });
    const serving = await startServe(`pid:${t.pid}`);
    const port = movedPort(serving.stderr(), t.pid);
    expect(port).not.toBe(INSPECTOR);
    expect(serving.stderr()).toContain(`for 127.0.0.1:${port} (pid ${t.pid})`);
    // While serving: 9229 is free, and the one port the target listens on is the one serve uses.
    expect(await portOpen(INSPECTOR)).toBe(false);
    expect(await listeningPorts(t.pid)).toEqual([port]);
    expect(t.stderr()).toMatch(new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${port}/`));

    const cpu = await request(`${serving.url}profile?seconds=1`, { timeoutMs: 30_000 });
    expect(cpu.status).toBe(200);
    expect(byFunction(loadProfile(cpu.body), 'cpu').flat.get('busyFunction')).toBeGreaterThan(0);
    const heap = await request(`${serving.url}heap`, { timeoutMs: 30_000 });
    expect(heap.status).toBe(200);
    loadProfile(heap.body); // a valid pprof

    serving.run.proc.kill('SIGTERM');
    const r = await serving.run.done;
    expect(r.code).toBe(0);
    // left as found: nothing listening, still running
    expect(await listeningPorts(t.pid)).toEqual([]);
    expect(await portOpen(port)).toBe(false);
    expect(await portOpen(INSPECTOR)).toBe(false);
    const ticks = Number(/tick (\d+)\n$/.exec(t.stdout())?.[1] ?? 0);
    await t.waitForStdout(new RegExp(`tick ${ticks + 3}\\n`), 10_000);
  });

  // Other majors (NODEPROF_TARGET_VERSIONS; 18 and 22 by default): the move uses only what Node 18+ has.
  test.each(targetMajors())('a Node %s target: moved off 9229, served, closed on SIGTERM', async (major) => {
    const t = await startTarget('ticker.js', { inspect: false, node: nodeBinary(major) });
    const serving = await startServe(`pid:${t.pid}`);
    const port = movedPort(serving.stderr(), t.pid);
    expect(await portOpen(INSPECTOR)).toBe(false);
    expect(await listeningPorts(t.pid)).toEqual([port]);
    expect((await request(`${serving.url}profile?seconds=1`, { timeoutMs: 30_000 })).status).toBe(200);
    serving.run.proc.kill('SIGTERM');
    expect((await serving.run.done).code).toBe(0);
    expect(await listeningPorts(t.pid)).toEqual([]);
    const ticks = Number(/tick (\d+)\n$/.exec(t.stdout())?.[1] ?? 0);
    await t.waitForStdout(new RegExp(`tick ${ticks + 3}\\n`), 10_000);
  });

  test('a target blocked in a loop when serve starts: the move runs all the same (on an interrupt), and it answers afterwards', async () => {
    const t = await startTarget('stuck-server.js', { inspect: false });
    const app = Number(/http (\d+)/.exec(t.stdout())![1]);
    // Longer than serve takes to start on a loaded machine (CLI start-up alone took up to 10 s).
    const spin = request(`http://127.0.0.1:${app}/spin?ms=15000`, { timeoutMs: 60_000 });
    await t.waitForStdout(/spinning 15000/);
    const serving = await startServe(`pid:${t.pid}`);
    const port = movedPort(serving.stderr(), t.pid);
    expect(t.stdout()).not.toMatch(/spun/); // moved while blocked
    expect(await listeningPorts(t.pid)).toEqual([port, app].sort((a, b) => a - b));
    expect((await spin).status).toBe(200);
    expect((await request(`http://127.0.0.1:${app}/`, { timeoutMs: 5000 })).text).toBe('ok\n');
    expect((await request(`${serving.url}profile?seconds=1`, { timeoutMs: 30_000 })).status).toBe(200);

    serving.run.proc.kill('SIGTERM');
    expect((await serving.run.done).code).toBe(0);
    expect(await listeningPorts(t.pid)).toEqual([app]);
    expect((await request(`http://127.0.0.1:${app}/`, { timeoutMs: 5000 })).text).toBe('ok\n');
  });

  test('the move: run in time it moves the inspector and keeps the port SIGUSR1 opens; run late it does nothing', async () => {
    // A target with its own inspector (--inspect=127.0.0.1:0): no SIGUSR1, no 9229.
    const t = await startTarget('ticker.js');
    const evaluate = async (port: number, expression: string) => {
      const session = await connectWebSocket((await findInspectorTarget('127.0.0.1', port)).webSocketDebuggerUrl, 'test');
      try {
        const r = await session.send('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true });
        return r.result.value as unknown;
      } catch (err) {
        return (err as Error).message;
      } finally {
        await session.close();
      }
    };
    const debugPort = await evaluate(t.port, 'process.debugPort');
    // Late (a target that served the evaluate after a long native call): nothing changes.
    expect(await evaluate(t.port, moveExpression('127.0.0.1', process.hrtime.bigint() - 1n))).toBe('late');
    expect(await listeningPorts(t.pid)).toEqual([t.port]);
    // In time: our session ends (close() drops it), and the inspector listens elsewhere.
    expect(await evaluate(t.port, moveExpression('127.0.0.1', process.hrtime.bigint() + 2_000_000_000n))).toMatch(/WebSocket connection closed|moved/);
    expect(await until(async () => (await listeningPorts(t.pid)).some((p) => p !== t.port))).toBe(true);
    const [moved] = await listeningPorts(t.pid);
    expect(moved).not.toBe(t.port);
    // process.debugPort (where a later SIGUSR1 opens) is the one it had, not the random port.
    expect(await evaluate(moved!, 'process.debugPort')).toBe(debugPort);
    const ticks = Number(/tick (\d+)\n$/.exec(t.stdout())?.[1] ?? 0);
    await t.waitForStdout(new RegExp(`tick ${ticks + 3}\\n`), 10_000);
  });

  test('SIGHUP closes the inspector it opened; after kill -9 it stays open on the moved port (not 9229) until the process exits', async () => {
    const t = await startTarget('ticker.js', { inspect: false });
    const hup = await startServe(`pid:${t.pid}`);
    const first = movedPort(hup.stderr(), t.pid);
    hup.run.proc.kill('SIGHUP');
    expect((await hup.run.done).code).toBe(129);
    expect(await listeningPorts(t.pid)).toEqual([]);
    expect(await portOpen(first)).toBe(false);

    const killed = await startServe(`pid:${t.pid}`);
    const port = movedPort(killed.stderr(), t.pid);
    killed.run.proc.kill('SIGKILL');
    await killed.run.done;
    // What serve's notice says: nothing closes it now, but 9229 is free for the next process.
    expect(await until(async () => (await portOpen(port)) && !(await portOpen(INSPECTOR)), 2000)).toBe(true);
    expect(await listeningPorts(t.pid)).toEqual([port]);
    t.proc.kill('SIGKILL');
    await t.exited;
    expect(await until(async () => !(await portOpen(port)))).toBe(true);
  });
});

describe('a script path with control characters (Node puts it raw into /json/list)', () => {
  test('attach pid:<PID> works, and the inspector it opened is closed afterwards', async () => {
    // "title" and "url" of Node's /json/list carry the path unescaped: an ESC, a BEL, a newline made the answer invalid JSON
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-pid-')), 'app\x1b[31mred\x07\x01\nline\x7f');
    fs.mkdirSync(dir);
    const script = path.join(dir, 'busy.js');
    fs.copyFileSync(path.join(FIXTURES, 'busy.js'), script);
    const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let err = '';
      proc.stderr.on('data', (d) => (err += d));
      await new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d) => /ready/.test(String(d)) && resolve());
        proc.on('exit', (c) => reject(new Error(`the fixture exited (${c}): ${err}`)));
      });
      const out = tmpfile('cpu.pb.gz');
      const r = await runCli(['attach', `pid:${proc.pid}`, '--cpu', '1s', '-o', out]);
      expect(r.stderr).not.toMatch(/is not a Node\.js inspector|could not close/);
      expect(r.code).toBe(0);
      expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
      // SIGUSR1 opened 9229; nothing listens there any more
      expect(err).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:9229\//);
      expect(await portOpen(INSPECTOR)).toBe(false);
      expect(alive(proc.pid!)).toBe(true);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
