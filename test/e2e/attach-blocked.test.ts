// `attach --cpu` against a target whose event loop is already blocked when nodeprof attaches.
import { afterEach, describe, expect, test } from '@jest/globals';
import CDP from 'chrome-remote-interface';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { commentsOf, startStuckServer, type StuckServer } from '../helpers/stuck.js';

afterEach(killAll);

// Loops run for many seconds: on a loaded machine the CLI alone can take seconds to start, and each
// test must attach while the loop is still blocked.

function tmpfile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-blocked-')), name);
}

/** The target is not left paused: its loop ends, the blocked request is answered, new ones too, and a second attach works. */
async function expectRecovered(t: StuckServer, answer: Promise<string>): Promise<void> {
  await expect(answer).resolves.toMatch(/^(spun|waited) /);
  await expect(t.request('/', 10_000)).resolves.toBe('ok\n');
  const again = await runCli(['attach', String(t.port), '--cpu', '1s']);
  expect(again.code).toBe(0);
  expect(again.stderr).not.toMatch(/blocked|paused/);
  expect(commentsOf(loadProfile(again.stdout)).join('\n')).toMatch(/event loop turning at attach.*not paused/);
}

describe('attach --cpu to a blocked event loop', () => {
  test('the function already running is on top, and the user is told what was running and how long it was paused', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=12000');
    const out = tmpfile('cpu.pb.gz');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/event loop blocked at attach/);
    expect(r.stderr).toMatch(/running at attach: crunch \(.*stuck-server\.js:\d+\) <- handleRequest/);
    expect(r.stderr).toMatch(/paused the target for \d+ ms/);
    expect(r.stderr).toMatch(/event loop blocked for at least [\d.]+ s/);
    expect(r.stderr).toMatch(/left out the first \d+ ms \(\d+ samples, taken before the repair/);
    const p = loadProfile(out);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('crunch')! / total).toBeGreaterThan(0.8);
    expect(flat.get('handleRequest') ?? 0).toBeLessThan(total * 0.1);
    const comments = commentsOf(p).join('\n');
    expect(comments).toMatch(/event loop blocked at attach/);
    expect(comments).toMatch(/running at attach: crunch/);
    expect(comments).toMatch(/paused the target for \d+ ms/);
    await expectRecovered(t, answer);
  });

  test('--no-repair never pauses, and the caller is blamed instead (why the repair exists)', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=12000');
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '--no-repair']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/event loop blocked at attach.*--no-repair/);
    expect(r.stderr).not.toMatch(/paused the target/);
    const p = loadProfile(r.stdout);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('crunch') ?? 0).toBe(0);
    expect(flat.get('handleRequest')! / total).toBeGreaterThan(0.8);
    expect(commentsOf(p).join('\n')).toMatch(/repair off \(--no-repair\): the target was not paused/);
    await expectRecovered(t, answer);
  });

  test('a healthy busy target is not paused', async () => {
    const t = await startTarget('busy.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/blocked|paused|repair/);
    const comments = commentsOf(loadProfile(r.stdout)).join('\n');
    expect(comments).toMatch(/event loop turning at attach \(a setImmediate ran within \d+ ms\); the target was not paused/);
    expect(comments).not.toMatch(/blocked/);
  });

  test('blocked inside a native call: finishes within the window plus a bounded grace, says it could not repair, target resumes', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/wait?ms=25000');
    const run = startCli(['attach', String(t.port), '--cpu', '2s']);
    // timed from the check's verdict, so a slow CLI start on a loaded machine does not count
    await run.waitForStderr(/pausing the target briefly/);
    const started = Date.now();
    const r = await run.done;
    const took = Date.now() - started;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/running at attach: waitNatively/);
    expect(r.stderr).toMatch(/could not repair: the step did not finish/);
    expect(commentsOf(loadProfile(r.stdout)).join('\n')).toMatch(/could not repair/);
    // the 2 s window plus the repair's bounds (1 s step, 2 s per command) and writing; waiting for
    // the native call instead would take 25 s
    expect(took).toBeLessThan(12_000);
    await expectRecovered(t, answer);
  });

  test('a second attach during the same blocked loop repairs again', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=20000');
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['attach', String(t.port), '--cpu', '1s']);
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0, stderr: expect.stringMatching(/running at attach: crunch/) });
      const { flat, total } = byFunction(loadProfile(r.stdout), 'cpu');
      expect(flat.get('crunch')! / total).toBeGreaterThan(0.3);
    }
    expect(t.stdout()).not.toMatch(/spun/); // both attaches saw the same blocked loop
    await expectRecovered(t, answer);
  });

  test.each([
    ['SIGKILL', ['SIGKILL']],
    ['two Ctrl-C', ['SIGINT', 'SIGINT']],
  ] as const)('nodeprof stopped by %s during the repair: the target is not left paused', async (_, signals) => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=15000');
    const run = startCli(['attach', String(t.port), '--cpu', '5s', '-o', tmpfile('cpu.pb.gz')]);
    // printed just before Debugger.enable: the signal lands somewhere in enable/pause/step/resume
    await run.waitForStderr(/pausing the target briefly/);
    for (const s of signals) run.proc.kill(s);
    await run.done;
    await expectRecovered(t, answer);
  });

  test('one Ctrl-C during the repair: it finishes, then the profile is written as usual', async () => {
    const t = await startStuckServer();
    const { answer } = await t.block('/spin?ms=15000');
    const out = tmpfile('cpu.pb.gz');
    const run = startCli(['attach', String(t.port), '--cpu', '20s', '-o', out]);
    await run.waitForStderr(/pausing the target briefly/);
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stopped early/);
    expect(r.stderr).toMatch(/paused the target for \d+ ms|could not repair: stopped on request/);
    expect(commentsOf(loadProfile(out)).join('\n')).toMatch(/event loop blocked at attach/);
    await expectRecovered(t, answer);
  });

  test('a target paused by another debugger is left paused for it: no step, no resume', async () => {
    const t = await startTarget('busy.js');
    const other = await CDP({ port: t.port, local: true });
    const emitter = other as unknown as NodeJS.EventEmitter;
    try {
      await other.Debugger.enable();
      const paused = new Promise((r) => emitter.once('Debugger.paused', r));
      await other.Debugger.pause();
      await paused;
      let resumed = false;
      emitter.on('Debugger.resumed', () => (resumed = true));
      const r = await runCli(['attach', String(t.port), '--cpu', '1s']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/paused by another debugger.*left paused for it/);
      expect(r.stderr).not.toMatch(/paused the target for/);
      loadProfile(r.stdout);
      // still paused: the loop does not turn, and the owner saw no resume
      const turned = await Promise.race([
        other.Runtime.evaluate({ expression: 'new Promise(r => setImmediate(() => r(1)))', awaitPromise: true }).then(() => true),
        new Promise((r) => setTimeout(() => r(false), 1000)),
      ]);
      expect(turned).toBe(false);
      expect(resumed).toBe(false);
      await other.Debugger.resume();
      await other.Debugger.disable();
    } finally {
      await other.close();
    }
    const again = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/blocked/);
  });
});
