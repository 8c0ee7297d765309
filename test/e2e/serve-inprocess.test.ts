// The facade inside the process: `node --import nodeprof/register app.js` (a worker thread that
// answers while the app's main thread is blocked) and pprofHandler mounted on the app's server.
import { afterEach, describe, expect, test } from '@jest/globals';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { killAll, startTarget } from '../helpers/processes.js';
import { registerServing, request } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

afterEach(killAll);

describe('in-process facade', () => {
  test('--import nodeprof/register serves from a worker, and answers while the main thread is blocked', async () => {
    const t = await startTarget('inprocess-app.js', { inspect: false, nodeArgs: ['--import', 'nodeprof/register'], env: { NODEPROF_LISTEN: '127.0.0.1:0' } });
    const { url } = await registerServing(t);
    expect(t.stderr()).toMatch(/in process \d+ \(heap sampler in inuse mode\)/);
    expect((await request(`${url}cmdline`)).text.split('\0')).toContain('nodeprof/register');
    const idle = loadProfile((await request(`${url}profile?seconds=2`)).body);
    expect(byFunction(idle, 'cpu').cum.get('handleWork')).toBeGreaterThan(0);

    // the facade's own worker is not one of the app's threads
    expect(loadProfile((await request(`${url}goroutine`)).body).sample).toHaveLength(1);

    t.proc.stdin!.write('block\n');
    await t.waitForStdout(/blocking/);
    // blockTheLoop spins for 15 s from now: the facade's worker sees it running
    const stack = await waitFor(
      async () => ((a) => /^thread main \[running\]:\nblockTheLoop/.test(a.text) && a)(await request(`${url}goroutine?debug=2`)),
      10_000,
      'blockTheLoop on the main thread',
    );
    expect(stack.text).toMatch(/^thread main \[running\]:\nblockTheLoop/);
    const started = Date.now();
    const cpu = await request(`${url}profile?seconds=2`);
    expect(cpu.status).toBe(200);
    // the answer came while the loop still spun (it ends 15 s after it started)
    expect(Date.now() - started).toBeLessThan(13_000);
    const p = loadProfile(cpu.body);
    const { flat, total } = byFunction(p, 'cpu');
    // entered before Profiler.start: named only thanks to the debugger step (docs/cdp-notes.md)
    expect(flat.get('blockTheLoop')! / total).toBeGreaterThan(0.5);
    expect((await request(`${url}heap`)).status).toBe(200);
  });

  test("pprofHandler mounted on the app's own http server", async () => {
    const t = await startTarget('mounted-app.js', { inspect: false });
    const port = Number(/port (\d+)/.exec(t.stdout())![1]);
    const base = `http://127.0.0.1:${port}`;
    expect((await request(`${base}/`)).text).toBe('app\n');
    const heap = await request(`${base}/debug/pprof/heap`);
    expect(heap.status).toBe(200);
    loadProfile(heap.body);
    const cpu = loadProfile((await request(`${base}/debug/pprof/profile?seconds=1`)).body);
    expect(byFunction(cpu, 'cpu').cum.get('appWork')).toBeGreaterThan(0);
    expect((await request(`${base}/debug/pprof/`)).text).toContain(`pid ${t.pid}`);
    expect((await request(`${base}/debug/pprof/nosuch`)).status).toBe(404);
    expect((await request(`${base}/debug/pprof/goroutine`)).status).toBe(200);
  });
});
