// The attach kinds against targets on other Node.js versions than the CLI's own: CPU, heap, allocs,
// heap snapshot and trace, each checked as in its own e2e test (the shared checks in
// test/helpers/checks.ts), with short windows. `npm test` runs a representative subset (Node 18,
// the oldest supported target, and 22, where V8 hides hot loops compiled before attach);
// `npm run test:matrix` runs NODEPROF_TARGET_VERSIONS=18,20,22,24 (and target-versions-threads).
import { afterEach, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { CLI, killAll, runCli, startTarget } from '../helpers/processes.js';
import { heapSamplerRunning, enabledTraceCategories } from '../helpers/inspect.js';
import { checkSnapshot, checkTrace, expectRetainedArrays, expectRetainedInUse, heapWhileRetaining } from '../helpers/checks.js';
import { nodeBinary, targetMajors } from '../helpers/node-versions.js';
import { stacks } from '../../src/pprof/query.js';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-versions-'));
  dirs.push(d);
  return d;
}

describe.each(targetMajors())('target on Node %s', (major) => {
  const node = nodeBinary(major);

  test('attach --cpu: hot function on top at its line', async () => {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    expect(version.startsWith(`v${major}.`)).toBe(true);
    const t = await startTarget('busy.js', { node });
    const r = await runCli(['attach', String(t.port), '--cpu', '2s']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const p = loadProfile(r.stdout);
    const { flat, total } = byFunction(p, 'cpu');
    expect(flat.get('hotFunction')! / total).toBeGreaterThan(0.7);
    expect(stacks(p).some((s) => s.frames[0]!.name === 'hotFunction' && s.frames[0]!.line === 8)).toBe(true);
  });

  if (Number(major) >= 22) {
    test('without the JIT reset, V8 blames the caller of a loop optimized before attach (why the reset exists)', async () => {
      // The loop must have been compiled before nodeprof attaches, and stay in that code through
      // the window. While it still runs in the interpreter V8 attributes right, and if V8 compiles
      // it again during the window the profile is part right, part wrong (seen once: 37% in the
      // caller): neither shows the bug. On a busy machine (CI, two test workers) 1.5 s after start
      // was not always enough. So a fresh target per attempt, each waiting longer; no attempt
      // blaming the caller fails the test, as the bug being gone would.
      const seen: string[] = [];
      for (const waitMs of [1500, 3000, 6000]) {
        const t = await startTarget('busy.js', { node });
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        const r = await runCli(['attach', String(t.port), '--cpu', '1s', '--no-jit-reset']);
        t.proc.kill('SIGKILL');
        expect(r.code).toBe(0);
        const { flat, total } = byFunction(loadProfile(r.stdout), 'cpu');
        const hot = (flat.get('hotFunction') ?? 0) / total;
        const caller = (flat.get('processImmediate') ?? 0) / total;
        if (caller <= 0.7) {
          seen.push(`after ${waitMs} ms: hotFunction ${(100 * hot).toFixed(0)}%, processImmediate ${(100 * caller).toFixed(0)}%`);
          continue;
        }
        expect(hot).toBeLessThan(0.2);
        return;
      }
      throw new Error(`V8 never blamed the caller for most of a window (${seen.join('; ')}): was the loop never compiled before attach, or is the bug gone?`);
    }, 60_000);
  }

  test('attach --heap: the bytes retained in the window show under retainMemory; the sampler is stopped after', async () => {
    const t = await startTarget('retain.js', { node });
    const r = await heapWhileRetaining(t, ['--heap-window', '2s']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/warning|error/i);
    expectRetainedInUse(loadProfile(r.stdout));
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test('attach --allocs: churnGarbage shows its allocations although it frees them all (Node 18: a one-line warning instead)', async () => {
    const t = await startTarget('retain.js', { node });
    const r = await runCli(['attach', String(t.port), '--allocs', '2s']);
    expect(r.code).toBe(0);
    const p = loadProfile(r.stdout);
    expect(sampleTypes(p)).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
    // ~30 MB/s allocated and freed at once; some of it inlined into its timer caller, so the cumulative figure
    const churned = byFunction(p, 'alloc_space').cum.get('churnGarbage') ?? 0;
    if (Number(major) >= 20) {
      expect(churned).toBeGreaterThan(2 ** 20);
      expect(r.stderr).not.toMatch(/warning/);
    } else {
      // Node 18's V8 ignores includeObjectsCollectedBy*GC: the freed churn is gone, and nodeprof says why
      expect(r.stderr.match(/^warning:.*$/gm)).toEqual([
        expect.stringMatching(
          /^warning: allocs: the target runs Node\.js v18\.\d+\.\d+, whose V8 cannot keep samples of objects already freed .*only allocations still live at the end of the window$/,
        ),
      ]);
      expect(churned).toBeLessThan(2 ** 20);
    }
    expect(await heapSamplerRunning(t.port)).toBe(false);
  });

  test('attach --heap-snapshot: valid JSON holding the retained arrays', async () => {
    const t = await startTarget('retain.js', { node });
    t.proc.stdin!.write('go\n');
    await t.waitForStdout(/retained 65536/);
    const out = path.join(tmpdir(), 'x.heapsnapshot');
    const r = await runCli(['attach', String(t.port), '--heap-snapshot', '-o', out], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expectRetainedArrays(checkSnapshot(fs.readFileSync(out, 'utf8')));
  });

  test('attach --trace: valid Chrome trace JSON with node and v8 events; tracing stopped after', async () => {
    const t = await startTarget('retain.js', { node });
    const r = await runCli(['attach', String(t.port), '--trace', '1s']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const trace = checkTrace(r.stdout.toString('utf8'), t.pid, ['node', 'v8']);
    expect(trace.traceEvents.some((e) => e.ph !== 'M' && e.cat.startsWith('node'))).toBe(true);
    expect(await enabledTraceCategories(t.port)).toBe('');
  });
});

test('the CLI itself refuses to run on Node 18, in one line', () => {
  const node = nodeBinary('18');
  let stderr = '';
  let status = 0;
  try {
    execFileSync(node, [CLI, 'attach', '9229', '--cpu', '1s'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { status: number; stderr: string };
    status = e.status;
    stderr = e.stderr;
  }
  expect(status).toBe(1);
  expect(stderr).toMatch(/needs Node\.js 20 or newer .*v18\./);
  expect(stderr.trim().split('\n')).toHaveLength(1);
});
