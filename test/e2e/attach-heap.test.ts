// `nodeprof attach --heap / --allocs` against real targets: fixtures/retain.js retains 65,536 arrays
// of 126 small integers in retainMemory when it reads "go", and churns short-lived garbage in
// churnGarbage all the time.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { killAll, runCli, startCli, startTarget } from '../helpers/processes.js';
import { heapSamplerRunning, withInspector } from '../helpers/inspect.js';
import { RETAINED_BYTES } from '../helpers/retain.js';
import { expectRetainedInUse, heapWhileRetaining } from '../helpers/checks.js';

afterEach(killAll);

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-heap-'));
}

describe('attach --heap', () => {
  test('retainMemory carries the retained bytes (±30 % at the default 512 KiB interval: ~130 samples, 1 σ ≈ 9 %); churned garbage does not show', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(tmpdir(), 'heap.pb.gz');
    const r = await heapWhileRetaining(t, ['--heap-window', '4s', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/still live at its end/);
    const p = loadProfile(out);
    const retained = expectRetainedInUse(p);
    const space = byFunction(p, 'inuse_space');
    // churnGarbage allocates ~30 MB/s but frees it all: in-use (after nodeprof's GC) it is noise.
    expect(space.cum.get('churnGarbage') ?? 0).toBeLessThan(retained * 0.05);
    // Objects are estimated (V8 reports bytes): each array is two objects, of 32 B and 1 KiB.
    const objects = byFunction(p, 'inuse_objects').flat.get('retainMemory') ?? 0;
    expect(objects).toBeGreaterThan(65_536 / 2);
    expect(objects).toBeLessThan(65_536 * 4);
    // the sampler is stopped in the target afterwards
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test('--heap-interval 64KiB --format heapprofile: V8 JSON, closer to the truth (±15 %)', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(tmpdir(), 'x.heapprofile');
    const r = await heapWhileRetaining(t, ['--heap-window', '3s', '--heap-interval', '64KiB', '--format', 'heapprofile', '-o', out]);
    expect(r.code).toBe(0);
    const v8 = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(v8.head.callFrame.functionName).toBe('(root)');
    let retained = 0;
    const walk = (n: { callFrame: { functionName: string }; selfSize: number; children: unknown[] }) => {
      if (n.callFrame.functionName === 'retainMemory') retained += n.selfSize;
      n.children.forEach((c) => walk(c as typeof n));
    };
    walk(v8.head);
    expect(v8.samples.length).toBeGreaterThan(500);
    expect(retained).toBeGreaterThan(RETAINED_BYTES * 0.85);
    expect(retained).toBeLessThan(RETAINED_BYTES * 1.15);
  });

  test('Ctrl-C ends the window early and writes what was sampled; the sampler is stopped', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(tmpdir(), 'heap.pb.gz');
    const run = startCli(['attach', String(t.port), '--heap', '-o', out]); // default 10 s window
    await run.waitForStderr(/heap: sampling allocations from now for 10s/);
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained 65536/);
    run.proc.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stopped early/);
    expect(byFunction(loadProfile(out), 'inuse_space').flat.get('retainMemory')).toBeGreaterThan(RETAINED_BYTES * 0.7);
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test("someone else's sampler is not taken over: clear error, theirs keeps running", async () => {
    const t = await startTarget('retain.js');
    await withInspector(t.port, async (other) => {
      await other.send('HeapProfiler.startSampling', { samplingInterval: 1 << 20 });
      const r = await runCli(['attach', String(t.port), '--heap', '--heap-window', '1s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/heap sampler is already running/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // still running for the other session
      await expect(other.send('HeapProfiler.getSamplingProfile')).resolves.toBeDefined();
    });
    // V8 stops a sampler when the session that started it closes (what makes a killed nodeprof harmless)
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test('nodeprof killed with SIGKILL mid-window: no sampler is left in the target', async () => {
    const t = await startTarget('retain.js');
    const run = startCli(['attach', String(t.port), '--allocs', '60s']);
    await run.waitForStderr(/allocs: sampling every allocation from now/);
    expect(await heapSamplerRunning(t.port)).toBe(true);
    run.proc.kill('SIGKILL');
    await run.done;
    // the inspector notices the closed socket and its session's disable stops the sampler
    const deadline = Date.now() + 5000;
    while ((await heapSamplerRunning(t.port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });
});

describe('attach --allocs', () => {
  test('churnGarbage shows its allocations although it frees them all', async () => {
    const t = await startTarget('retain.js');
    const out = path.join(tmpdir(), 'allocs.pb.gz');
    const r = await runCli(['attach', String(t.port), '--allocs', '3s', '-o', out]);
    expect(r.code).toBe(0);
    const p = loadProfile(out);
    expect(sampleTypes(p)).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
    expect(p.stringTable.strings[Number(p.defaultSampleType)]).toBe('alloc_space');
    const space = byFunction(p, 'alloc_space');
    // ~30 MB/s churned; some of it is inlined into its timer caller, so look at the cumulative figure
    expect(space.cum.get('churnGarbage') ?? 0).toBeGreaterThan(5 * 2 ** 20);
    expect(space.total).toBeGreaterThan(20 * 2 ** 20);
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test('--cpu 3s --allocs 3s: one window, two files', async () => {
    const t = await startTarget('retain.js');
    const dir = tmpdir();
    const r = await runCli(['attach', String(t.port), '--cpu', '3s', '--allocs', '3s', '-o', dir]);
    expect(r.code).toBe(0);
    const files = fs.readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`^nodeprof-allocs-${t.pid}-\\d{8}-\\d{6}\\.pb\\.gz$`));
    expect(files[1]).toMatch(new RegExp(`^nodeprof-cpu-${t.pid}-\\d{8}-\\d{6}\\.pb\\.gz$`));
    const allocs = loadProfile(path.join(dir, files[0]!));
    const cpu = loadProfile(path.join(dir, files[1]!));
    expect(sampleTypes(allocs)).toContain('alloc_space/bytes');
    expect(sampleTypes(cpu)).toContain('cpu/nanoseconds');
    // same window: both about 3 s long
    for (const p of [allocs, cpu]) {
      expect(Number(p.durationNanos)).toBeGreaterThan(2.5e9);
      expect(Number(p.durationNanos)).toBeLessThan(6e9);
    }
    expect(r.stderr.match(/wrote /g)).toHaveLength(2);
  });
});

describe('attach heap flags: usage errors', () => {
  test.each([
    [['--heap', '--allocs', '2s'], /one heap sampler per process/],
    [['--heap', '--heap-interval', 'lots'], /invalid --heap-interval/],
    [['--allocs', '0'], /invalid/],
    [['--heap-window', '2s', '--cpu', '1s'], /--heap-window applies to --heap only/],
    [['--heap', '--format', 'cpuprofile'], /--format cpuprofile does not apply to --heap/],
  ])('%j: exit 2', async (args, message) => {
    const r = await runCli(['attach', '9229', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
