// Worker threads, stack and serve against targets on other Node.js versions than the CLI's own
// (the attach kinds are in target-versions.test.ts; the same majors: `npm test` runs 18 and 22,
// `npm run test:matrix` NODEPROF_TARGET_VERSIONS=18,20,22,24).
import { afterEach, describe, expect, test } from '@jest/globals';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { checkTrace, expectWorkerThreads } from '../helpers/checks.js';
import { nodeBinary, targetMajors } from '../helpers/node-versions.js';
import { request, startServe } from '../helpers/serve.js';

afterEach(killAll);

describe.each(targetMajors())('target on Node %s', (major) => {
  const node = nodeBinary(major);

  test('attach --cpu --workers: each thread its own hot function under its own label', async () => {
    const t = await startTarget('workers.js', { node });
    const r = await runCli(['attach', String(t.port), '--cpu', '2s', '--workers']);
    expect(r.code).toBe(0);
    // On Node 22/24 this holds because every thread gets the JIT reset (CpuCollector runs it in
    // each worker session too): without it V8 blames a worker loop optimized before attach on
    // processImmediate.
    expectWorkerThreads(r.stdout);
    expect(r.stderr).toMatch(/cpu: worker 1 hasher: \d+ samples/);
  });

  test('stack names the function the main thread is busy in', async () => {
    const t = await startTarget('busy.js', { node });
    const r = await runCli(['stack', String(t.port)]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(new RegExp(`\\nNode\\.js v${major}\\.\\d+\\.\\d+\\n\\nThread main:\\n {4}hotFunction \\(.*busy\\.js:\\d+:\\d+\\)\\n`));
  });

  test('serve --heap-mode alloc: profile, heap, allocs, goroutine and trace answer 200 with valid profiles', async () => {
    const t = await startTarget('busy.js', { node });
    const s = await startServe(t.port, ['--heap-mode', 'alloc']);
    const get = async (path: string) => {
      const a = await request(s.url + path);
      expect({ path, status: a.status }).toEqual({ path, status: 200 });
      return a;
    };
    expect(byFunction(loadProfile((await get('profile?seconds=1')).body), 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    // one sampler answers both (as Go answers both from one profile)
    expect(sampleTypes(loadProfile((await get('heap')).body))).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
    expect(sampleTypes(loadProfile((await get('allocs')).body))).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
    const g = loadProfile((await get('goroutine')).body);
    expect(sampleTypes(g)).toEqual(['goroutine/count']);
    expect(g.sample.length).toBeGreaterThan(0);
    checkTrace((await get('trace?seconds=1')).text, t.pid, ['node', 'v8']);
    if (Number(major) >= 20) expect(s.stderr()).not.toMatch(/warning|error/i);
    else {
      // Node 18's sampler drops freed objects' samples: said once, served anyway
      expect(s.stderr().match(/^warning:.*$/gm)).toEqual([
        expect.stringMatching(/^warning: --heap-mode alloc: the target runs Node\.js v18\.\d+\.\d+, whose V8 cannot keep samples of objects already freed/),
      ]);
    }
  });
});
