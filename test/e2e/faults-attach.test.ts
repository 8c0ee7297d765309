// The attach fault catalogue: the target gone mid-window for every kind, dropped connections, a
// target paused by another debugger or blocked in native code, two nodeprofs at once, an
// unwritable output path and a full disk, SIGINT/SIGTERM in each phase (connecting, window,
// stop). After each, nodeprof exits with the documented status (DESIGN §1: 0 / 1 / 130) within
// seconds, nothing of ours runs in the target (checked from outside: CPU profiler threads, the
// heap sampler, trace categories), and it can be profiled again.
import { afterEach, describe, expect, test } from '@jest/globals';
import CDP from 'chrome-remote-interface';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertNoProfilerRunning, profilersRunning } from '../helpers/inspect.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, ranFor, runCli, startCli, startTarget, type CliResult } from '../helpers/processes.js';
import { blackHole, proxy } from '../helpers/proxy.js';
import { nativeBlocker } from '../helpers/stuck.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await killAll();
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-faults-'));
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A hang check, not a timing test: generous under load, far below any timeout in nodeprof. */
const PROMPTLY_MS = 15_000;

/** The error is one line on stderr, no stack trace. */
function oneLineError(r: CliResult, re: RegExp): void {
  const errors = r.stderr.split('\n').filter((l) => /^(nodeprof:|error:)/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(re);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

// Every kind that runs in the target over a window (a snapshot has none: attach-snapshot tests it).
const ALL_KINDS = ['--cpu', '30s', '--heap', '--trace', '30s'];
const ALL_RUNNING = ['1 CPU profile(s)', 'the heap sampler', 'tracing (node,v8)'];

/** Resolves once what attach started runs in the target (a CPU profile, or all of ALL_KINDS). */
async function running(port: number, what: string[] = ALL_RUNNING): Promise<void> {
  await waitFor(async () => JSON.stringify(await profilersRunning(port)) === JSON.stringify(what), 30_000, `${what.join(', ')} running in the target`);
}

/** The target can be profiled again, normally. */
async function profilesNormally(port: number): Promise<void> {
  const r = await runCli(['attach', String(port), '--cpu', '1s']);
  expect(r.code).toBe(0);
  expect(byFunction(loadProfile(r.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
}

describe('the target goes away mid-window (CPU + heap + trace at once)', () => {
  test('the target exits: exit 1 within seconds, one line saying nothing could be kept', async () => {
    const t = await startTarget('busy.js');
    const run = startCli(['attach', String(t.port), ...ALL_KINDS, '-o', tmpdir()]);
    await run.waitForStderr(/collecting CPU \+ trace \+ heap/);
    await running(t.port);
    const exitedAt = Date.now();
    t.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(Date.now() - exitedAt).toBeLessThan(PROMPTLY_MS);
    oneLineError(
      r,
      new RegExp(
        `lost target 127\\.0\\.0\\.1:${t.port} \\(pid ${t.pid}\\) after .*: it exited, closed its inspector or the connection dropped; .*nothing could be kept`,
      ),
    );
  });

  test('the connection drops: exit 1 within seconds; the target runs on with nothing of ours running', async () => {
    const t = await startTarget('busy.js');
    const p = await proxy(t.port);
    cleanups.push(p.close);
    const run = startCli(['attach', String(p.port), ...ALL_KINDS, '-o', tmpdir()]);
    await run.waitForStderr(/collecting/);
    await running(t.port); // what the check below must find gone
    const cutAt = Date.now();
    p.cut();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(Date.now() - cutAt).toBeLessThan(PROMPTLY_MS);
    oneLineError(r, /lost target .*connection dropped/);
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });
});

describe('disk full (/dev/full: every write fails with ENOSPC)', () => {
  test('-o /dev/full: exit 1, one line, and the CPU profile is kept (0600) in a private directory of the temp directory', async () => {
    const t = await startTarget('busy.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '1s', '-o', '/dev/full']);
    expect(r.code).toBe(1);
    oneLineError(
      r,
      new RegExp(`^error: cannot write /dev/full \\(ENOSPC: no space left on device.*\\); the profile was kept in ${os.tmpdir()}/nodeprof-\\w+/full$`),
    );
    const kept = /kept in (\S+)$/m.exec(r.stderr)![1]!;
    cleanups.push(() => fs.rmSync(path.dirname(kept), { recursive: true, force: true }));
    expect(fs.statSync(kept).mode & 0o777).toBe(0o600);
    expect(byFunction(loadProfile(kept), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    await assertNoProfilerRunning(t.port);
  });

  test('stdout on /dev/full: exit 1, one line, and the CPU profile is kept in the temp directory', async () => {
    const t = await startTarget('busy.js');
    const full = fs.openSync('/dev/full', 'w');
    cleanups.push(() => fs.closeSync(full));
    const r = await runCli(['attach', String(t.port), '--cpu', '1s'], { stdout: full });
    expect(r.code).toBe(1);
    const m = /^error: cannot write to stdout: ENOSPC: no space left on device.*; the profile was kept in (\S+)$/m.exec(r.stderr);
    expect(m).not.toBeNull();
    cleanups.push(() => fs.rmSync(path.dirname(m![1]!), { recursive: true, force: true }));
    expect(fs.statSync(m![1]!).mode & 0o777).toBe(0o600);
    expect(path.basename(m![1]!)).toMatch(new RegExp(`^nodeprof-cpu-${t.pid}-\\d{8}-\\d{6}\\.pb\\.gz$`));
    oneLineError(r, /^error: cannot write to stdout/);
    expect(byFunction(loadProfile(m![1]!), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    await assertNoProfilerRunning(t.port);
  });

  test('--heap-snapshot -o /dev/full: exit 1, one line saying what happened; the device is left a device', async () => {
    const t = await startTarget('retain.js');
    const r = await runCli(['attach', String(t.port), '--heap-snapshot', '-o', '/dev/full']);
    expect(r.code).toBe(1);
    oneLineError(
      r,
      /^nodeprof: heapsnapshot: cannot write \/dev\/full: ENOSPC: no space left on device.*\(0 B streamed; what reached \/dev\/full is incomplete: discard it\)$/,
    );
    // Written directly, never as /dev/full.partial renamed onto /dev/full (as root, that would
    // replace the device node with a file).
    expect(fs.statSync('/dev/full').isCharacterDevice()).toBe(true);
    expect(fs.existsSync('/dev/full.partial')).toBe(false);
    await assertNoProfilerRunning(t.port);
  });

  test('--heap-snapshot -o <FIFO without a reader>: waits for one as `cat > fifo` does, Ctrl-C exits 130 at once; with a reader, the whole snapshot', async () => {
    const t = await startTarget('retain.js');
    const fifo = path.join(tmpdir(), 'snap.heapsnapshot');
    execFileSync('mkfifo', [fifo]);
    const run = startCli(['attach', String(t.port), '--heap-snapshot', '-o', fifo]);
    await run.waitForStderr(/waiting for a reader of .*snap\.heapsnapshot before taking the snapshot \(Ctrl-C to give up\)/);
    const sentAt = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    oneLineError(r, /interrupted while opening .*snap\.heapsnapshot \(a FIFO waits for a reader\); no snapshot was taken$/);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);

    // The same with a reader: the snapshot streams through the FIFO whole.
    const again = startCli(['attach', String(t.port), '--heap-snapshot', '-o', fifo]);
    await again.waitForStderr(/waiting for a reader/);
    const read = new Promise<string>((resolve, reject) => {
      let text = '';
      fs.createReadStream(fifo, 'utf8')
        .on('data', (d) => (text += d))
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    expect((await again.done).code).toBe(0);
    expect(JSON.parse(await read)).toHaveProperty('snapshot.meta');
    await assertNoProfilerRunning(t.port);
  });

  test('--cpu -o <FIFO>: waits for a reader, who gets the whole profile; without one, a second Ctrl-C still exits 130', async () => {
    const t = await startTarget('busy.js');
    const fifo = path.join(tmpdir(), 'cpu.pb.gz');
    execFileSync('mkfifo', [fifo]);
    const run = startCli(['attach', String(t.port), '--cpu', '1s', '-o', fifo]);
    await run.waitForStderr(/waiting for a reader of .*cpu\.pb\.gz/);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      fs.createReadStream(fifo)
        .on('data', (d) => chunks.push(d as Buffer))
        .on('end', () => resolve())
        .on('error', reject);
    });
    expect((await run.done).code).toBe(0);
    expect(byFunction(loadProfile(Buffer.concat(chunks)), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);

    // Nobody reads: Ctrl-C once (the window is over: it goes on writing), twice (abort).
    const stuck = startCli(['attach', String(t.port), '--cpu', '1s', '-o', fifo]);
    await stuck.waitForStderr(/waiting for a reader/);
    stuck.proc.kill('SIGINT');
    await stuck.waitForStderr(/SIGINT: stopping/);
    const sentAt = Date.now();
    stuck.proc.kill('SIGINT');
    expect((await stuck.done).code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    await assertNoProfilerRunning(t.port);
  });

  test('--heap-snapshot with stdout on /dev/full: exit 1, one line saying the output is incomplete', async () => {
    const t = await startTarget('retain.js');
    const full = fs.openSync('/dev/full', 'w');
    cleanups.push(() => fs.closeSync(full));
    const r = await runCli(['attach', String(t.port), '--heap-snapshot'], { stdout: full });
    expect(r.code).toBe(1);
    oneLineError(r, /cannot write to stdout: ENOSPC: no space left on device.*the snapshot on stdout is incomplete: discard it/);
    await assertNoProfilerRunning(t.port);
  });
});

describe('SIGINT and SIGTERM in each phase of attach', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s while connecting to a port that never answers: exit 130 at once, nothing collected', async (signal) => {
    const hole = await blackHole();
    cleanups.push(hole.close);
    const run = startCli(['attach', String(hole.port), '--cpu', '30s', '-o', path.join(tmpdir(), 'x.pb.gz')]);
    await hole.connected; // nodeprof waits (up to 4 s) for the inspector's HTTP answer
    const sentAt = Date.now();
    run.proc.kill(signal);
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(3000);
    oneLineError(r, new RegExp(`^nodeprof: interrupted while connecting to 127\\.0\\.0\\.1:${hole.port}: nothing was collected$`));
  });

  test('SIGINT while attaching to a target that cannot answer: exit 130 at once; its inspector is usable after', async () => {
    const t = await startTarget('native-block.js');
    const dir = tmpdir();
    const native = nativeBlocker(t, dir);
    await native.block();
    const p = await proxy(t.port);
    cleanups.push(p.close);
    const run = startCli(['attach', String(p.port), '--cpu', '30s', '-o', path.join(dir, 'x.pb.gz')]);
    await p.connections(2); // GET /json/list answered (by the inspector's own thread), then the websocket
    // nodeprof now waits for the target to evaluate (5 s bound)
    await waitFor(() => p.messages.some((m) => m.includes('"Runtime.evaluate"')), 20_000, 'nodeprof to ask the target to evaluate');
    const sentAt = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(3000);
    oneLineError(r, /^nodeprof: interrupted while connecting to .*: nothing was collected$/);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
  });

  test('SIGTERM during a window of CPU + heap + trace: exit 0, all three written, nothing left running', async () => {
    const t = await startTarget('busy.js');
    const dir = tmpdir();
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '--heap', '--trace', '30s', '-o', dir]);
    await run.waitForStderr(/collecting/);
    await running(t.port);
    await ranFor(t.pid, 300); // so the CPU profile has samples of hotFunction
    const sentAt = Date.now();
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(PROMPTLY_MS);
    expect(r.stderr).toMatch(/SIGTERM: stopping/);
    expect(r.stderr).toMatch(/stopped early/);
    const files = fs
      .readdirSync(dir)
      .map((f) => f.replace(/-\d+-\d{8}-\d{6}/, ''))
      .sort();
    expect(files).toEqual(['nodeprof-cpu.pb.gz', 'nodeprof-heap.pb.gz', 'nodeprof-trace.json']);
    const cpu = fs.readdirSync(dir).find((f) => f.startsWith('nodeprof-cpu'))!;
    expect(byFunction(loadProfile(path.join(dir, cpu)), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });

  test('SIGTERM after the window, while the target cannot hand over the profile: it is still written when the target answers (exit 0)', async () => {
    const t = await startTarget('native-block.js');
    const dir = tmpdir();
    const native = nativeBlocker(t, dir);
    const out = path.join(dir, 'cpu.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '1s', '-o', out]);
    await run.waitForStderr(/collecting CPU/);
    await native.block();
    await run.waitForStderr(/waiting for pid \d+ to hand over the profile/);
    run.proc.kill('SIGTERM');
    await run.waitForStderr(/SIGTERM: stopping/);
    await native.unblock();
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    await assertNoProfilerRunning(t.port);
  });

  test('SIGTERM then SIGINT while the target cannot answer: exit 130 at once; nothing left once it answers again', async () => {
    const t = await startTarget('native-block.js');
    const dir = tmpdir();
    const native = nativeBlocker(t, dir);
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '--heap', '-o', dir]);
    await run.waitForStderr(/collecting/);
    await native.block();
    run.proc.kill('SIGTERM');
    await run.waitForStderr(/waiting for pid \d+ to hand over the profile/);
    const sentAt = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(r.stderr).toMatch(/SIGINT again: aborting/);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
  });
});

describe('other clients of the target', () => {
  test('a target paused at a breakpoint by another debugger: attach finishes, exit 0, and leaves it paused for its owner', async () => {
    const t = await startTarget('busy.js');
    const other = await CDP({ port: t.port, local: true });
    cleanups.push(() => other.close());
    await other.Debugger.enable();
    const paused = new Promise((r) => (other as unknown as NodeJS.EventEmitter).once('Debugger.paused', r));
    await other.Debugger.pause();
    await paused;
    const r = await runCli(['attach', String(t.port), '--cpu', '1s', '-o', '-'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(PROMPTLY_MS);
    loadProfile(r.stdout); // valid, if nearly empty: the target did not run
    await other.Debugger.resume();
    await other.Debugger.disable();
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });

  test('two nodeprofs on one target at once both get a full profile', async () => {
    const t = await startTarget('busy.js');
    const [a, b] = await Promise.all([runCli(['attach', String(t.port), '--cpu', '2s']), runCli(['attach', String(t.port), '--cpu', '2s'])]);
    for (const r of [a, b]) {
      expect(r.code).toBe(0);
      const { flat, total } = byFunction(loadProfile(r.stdout), 'cpu');
      expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.5);
    }
    await assertNoProfilerRunning(t.port);
  });
});

describe('an output path that cannot be written', () => {
  test('unwritable -o path: exit 1, and the profile is kept in the temp directory', async () => {
    const t = await startTarget('busy.js');
    const name = `nodeprof-unwritable-${process.pid}.pb.gz`;
    const r = await runCli(['attach', String(t.port), '--cpu', '1s', '-o', path.join('/nonexistent-dir', name)]);
    expect(r.code).toBe(1);
    // kept in a fresh private directory of the temp directory, readable by us alone
    const m = new RegExp(
      `cannot write /nonexistent-dir/${name.replace(/[.]/g, '\\.')}.*kept in (${os.tmpdir()}/nodeprof-[^/\\s]+/${name.replace(/[.]/g, '\\.')})`,
    ).exec(r.stderr);
    expect(m).not.toBeNull();
    const kept = m![1]!;
    cleanups.push(() => fs.rmSync(path.dirname(kept), { recursive: true, force: true }));
    expect(fs.statSync(kept).mode & 0o777).toBe(0o600);
    expect(byFunction(loadProfile(kept), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
  });
});

describe('a target blocked in native code', () => {
  test('Ctrl-C while it cannot answer: nodeprof says why it waits; a second Ctrl-C exits 130 at once', async () => {
    const t = await startTarget('native-block.js');
    const dir = tmpdir();
    const native = nativeBlocker(t, dir);
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '-o', path.join(dir, 'x.pb.gz')]);
    await run.waitForStderr(/collecting CPU/);
    await native.block();
    run.proc.kill('SIGINT');
    await run.waitForStderr(/waiting for pid \d+ to hand over the profile: .*blocked in native code/);
    const before = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - before).toBeLessThan(5000);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });

  test('window ends while it cannot answer: exit 1 after the stop timeout, one clear line', async () => {
    const t = await startTarget('native-block.js');
    const dir = tmpdir();
    const native = nativeBlocker(t, dir);
    const run = startCli(['attach', String(t.port), '--cpu', '2s', '-o', path.join(dir, 'x.pb.gz')], { env: { NODEPROF_STOP_TIMEOUT_MS: '4000' } });
    await run.waitForStderr(/collecting CPU/);
    await native.block();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not answer within 4s \(blocked outside JavaScript\?\)/);
    await native.unblock();
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });
});
