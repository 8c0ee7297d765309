// The fault catalogue for attach: dropped connections, a target paused by another debugger, two
// nodeprofs at once, an unwritable output path, SIGTERM. After each, nodeprof exits with the
// documented status within seconds and the target can be profiled again.
import { afterEach, describe, expect, test } from '@jest/globals';
import CDP from 'chrome-remote-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { assertNoProfilerRunning } from '../helpers/inspect.js';
import { killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { nativeBlocker } from '../helpers/stuck.js';
import { proxy as cutProxy, type Proxy } from '../helpers/proxy.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await killAll();
});

async function proxy(port: number): Promise<Proxy> {
  const p = await cutProxy(port);
  cleanups.push(p.close);
  return p;
}

async function profilesNormally(port: number): Promise<void> {
  const r = await runCli(['attach', String(port), '--cpu', '1s']);
  expect(r.code).toBe(0);
  expect(byFunction(loadProfile(r.stdout), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
}

describe('attach faults', () => {
  test('connection dropped mid-window: exit 1 within seconds, one line; the target runs on', async () => {
    const t = await startTarget('busy.js');
    const p = await proxy(t.port);
    const run = startCli(['attach', String(p.port), '--cpu', '30s', '-o', path.join(os.tmpdir(), `nodeprof-cut-${process.pid}.pb.gz`)]);
    await run.waitForStderr(/collecting CPU/);
    await new Promise((r) => setTimeout(r, 1000));
    const cutAt = Date.now();
    p.cut();
    const r = await run.done;
    expect(r.code).toBe(1);
    // A hang check from the fault on (the CLI's own start-up is slow on a loaded machine).
    expect(Date.now() - cutAt).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/lost target .*connection dropped/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });

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
    expect(r.ms).toBeLessThan(15_000);
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

  test('SIGTERM mid-window behaves like the first Ctrl-C: partial profile, exit 0', async () => {
    const t = await startTarget('busy.js');
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-term-')), 'cpu.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '30s', '-o', out]);
    await run.waitForStderr(/collecting CPU/);
    await new Promise((r) => setTimeout(r, 1000));
    run.proc.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(byFunction(loadProfile(out), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    await assertNoProfilerRunning(t.port);
    await profilesNormally(t.port);
  });
});

describe('a target blocked in native code', () => {
  function tmpdir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-fifo-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

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
