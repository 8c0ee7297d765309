// `nodeprof attach --heap-snapshot`: a whole, valid .heapsnapshot or none at all.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { checkSnapshot, expectRetainedArrays } from '../helpers/checks.js';

// Snapshots are megabytes each: remove them after every test.
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-snapshot-'));
  dirs.push(d);
  return d;
}

/** Resolves once `file` exists and has some bytes: the snapshot is being streamed. */
async function whenGrowing(file: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} did not appear`);
}

describe('attach --heap-snapshot', () => {
  test('-o file: valid JSON with snapshot.meta and a plausible node count, containing the retained arrays', async () => {
    const t = await startTarget('retain.js');
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained 65536/);
    const dir = tmpdir();
    const out = path.join(dir, 'x.heapsnapshot');
    const r = await runCli(['attach', String(t.port), '--heap-snapshot', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote .*x\.heapsnapshot: load it in Chrome DevTools, Memory tab/);
    const s = checkSnapshot(fs.readFileSync(out, 'utf8'));
    expectRetainedArrays(s);
    expect(fs.readdirSync(dir)).toEqual(['x.heapsnapshot']); // no .partial left behind
  });

  test('piped stdout carries the snapshot; --cpu with it writes both files', async () => {
    const t = await startTarget('retain.js');
    const r = await runCli(['attach', String(t.port), '--heap-snapshot']);
    expect(r.code).toBe(0);
    checkSnapshot(r.stdout.toString('utf8'));

    const dir = tmpdir();
    const both = await runCli(['attach', String(t.port), '--cpu', '1s', '--heap-snapshot', '-o', dir]);
    expect(both.code).toBe(0);
    const files = fs.readdirSync(dir).sort();
    expect(files.map((f) => f.replace(/-\d+-\d{8}-\d{6}/, ''))).toEqual(['nodeprof-cpu.pb.gz', 'nodeprof-heapsnapshot.heapsnapshot']);
    checkSnapshot(fs.readFileSync(path.join(dir, files[1]!), 'utf8'));
  });

  test('stdout closed by the reader mid-snapshot (| head): exit 1, one line saying the output is incomplete', async () => {
    const t = await startTarget('retain.js');
    const run = startCli(['attach', String(t.port), '--heap-snapshot']);
    run.proc.stdout!.once('data', () => run.proc.stdout!.destroy());
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stdout was closed before the heap snapshot was written .*incomplete/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('target dying mid-snapshot: exit 1, clear message, the partial file removed', async () => {
    const t = await startTarget('bigheap.js', { args: ['150000'] });
    const dir = tmpdir();
    const out = path.join(dir, 'big.heapsnapshot');
    const run = startCli(['attach', String(t.port), '--heap-snapshot', '-o', out]);
    await whenGrowing(`${out}.partial`);
    const killedAt = Date.now();
    t.proc.kill('SIGKILL');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/target went away after \d+ bytes of the heap snapshot .*the partial file was removed/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  }, 150_000);

  test('Ctrl-C mid-snapshot: exit 130, partial file removed, the target runs on', async () => {
    const t = await startTarget('bigheap.js', { args: ['150000'] });
    const dir = tmpdir();
    const out = path.join(dir, 'big.heapsnapshot');
    const run = startCli(['attach', String(t.port), '--heap-snapshot', '-o', out]);
    await whenGrowing(`${out}.partial`);
    const interruptedAt = Date.now();
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/interrupted while streaming the heap snapshot .*the partial file was removed/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(t.proc.exitCode).toBeNull();
  });
});
