// The CPU sampling rate of the facade: 100 Hz by default in serve and the register (continuous
// profiling), --cpu-interval / NODEPROF_CPU_INTERVAL to change it, ?hz= per request within bounds,
// and the rate in the profile's period (and in V8's sampling, not only in the label).
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Profile } from 'pprof-format';
import { loadProfile } from '../helpers/profiles.js';
import { killAll, runCli, startTarget } from '../helpers/processes.js';
import { registerServing, request, startServe } from '../helpers/serve.js';
import { str } from '../../src/pprof/query.js';

afterEach(killAll);

/** period (ns) and the number of samples the profile holds. */
function rate(p: Profile): { periodType: string; period: number; samples: number } {
  const i = p.sampleType.findIndex((t) => str(p, t.type) === 'samples');
  return {
    periodType: `${str(p, p.periodType!.type)}/${str(p, p.periodType!.unit)}`,
    period: Number(p.period),
    samples: p.sample.reduce((a, s) => a + Number(s.value[i]), 0),
  };
}

describe('CPU sampling rate', () => {
  test('serve samples at 100 Hz by default; ?hz= asks for another rate, in a window of its own', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--quiet']);
    // Both at once: a window at one rate is never shared by a request at another. V8's own sample
    // times say the rate it sampled at (busy.js keeps its main thread busy): about 10 ms apart by
    // default, about 1 ms with hz=1000 (later on a loaded machine, never sooner).
    const [byDefault, fast] = await Promise.all([request(`${s.url}cpuprofile?seconds=2`), request(`${s.url}cpuprofile?seconds=2&hz=1000`)]);
    const gap = (text: string) => {
      const d = (JSON.parse(text) as { timeDeltas: number[] }).timeDeltas.slice(1).sort((a, b) => a - b);
      return d[d.length >> 1]!;
    };
    expect(gap(byDefault.text)).toBeGreaterThan(7000);
    expect(gap(fast.text)).toBeLessThan(5000);
    // The period says the same: the server's rate, or the one asked for.
    const [p, q] = await Promise.all([request(`${s.url}profile?seconds=1`), request(`${s.url}profile?seconds=1&hz=1000`)]);
    const d = rate(loadProfile(p.body));
    expect({ periodType: d.periodType, period: d.period }).toEqual({ periodType: 'cpu/nanoseconds', period: 10_000_000 });
    expect(d.samples).toBeLessThan(200);
    expect(rate(loadProfile(q.body)).period).toBe(1_000_000);
    const comments = (b: Buffer) => {
      const x = loadProfile(b);
      return x.comment.map((c) => str(x, c)).join('\n');
    };
    expect(comments(p.body) + comments(q.body)).not.toMatch(/shared a CPU window/);
  }, 120_000);

  test('--cpu-interval sets the rate; hz out of bounds or not a number is a 400 in Go style', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--quiet', '--cpu-interval', '5ms']);
    expect(rate(loadProfile((await request(`${s.url}profile?seconds=1`)).body)).period).toBe(5_000_000);
    for (const hz of ['0', '-5', 'abc', '1e3', '20000', '0.5', '100Hz']) {
      const a = await request(`${s.url}profile?seconds=1&hz=${hz}`);
      expect({ hz, status: a.status }).toEqual({ hz, status: 400 });
      expect(a.headers['x-go-pprof']).toBe('1');
      expect(a.text).toMatch(/"hz"/);
    }
    const cpu = await request(`${s.url}cpuprofile?seconds=1&hz=10000`);
    expect(cpu.status).toBe(200);
    expect((await request(`${s.url}cpuprofile?seconds=1&hz=x`)).status).toBe(400);
  }, 120_000);

  test('a bad --cpu-interval: one line, exit 2, nothing served', async () => {
    for (const v of ['50us', '2s', 'fast', '0']) {
      const r = await runCli(['serve', '--target', '9', '--listen=127.0.0.1:0', '--cpu-interval', v], { timeoutMs: 30_000 });
      expect({ v, code: r.code }).toEqual({ v, code: 2 });
      expect({ v, lines: r.stderr.trimEnd().split('\n') }).toEqual({ v, lines: [expect.stringMatching(/^nodeprof: invalid --cpu-interval/)] });
    }
  }, 120_000);

  test("--heap-interval sets the heap sampler's interval, in the heap profile's period; a bad one is one line, exit 2", async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port, ['--quiet', '--heap-interval', '64KiB']);
    const heap = loadProfile((await request(`${s.url}heap?gc=1`)).body);
    expect(Number(heap.period)).toBe(64 * 1024);
    for (const v of ['0', 'big', '-1MiB', '4GiB']) {
      const r = await runCli(['serve', '--target', '9', '--listen=127.0.0.1:0', '--heap-interval', v], { timeoutMs: 30_000 });
      expect({ v, code: r.code, lines: r.stderr.trimEnd().split('\n') }).toEqual({
        v,
        code: 2,
        lines: [expect.stringMatching(/^nodeprof: invalid --heap-interval/)],
      });
    }
    const inProcess = await startTarget('inprocess-app.js', {
      inspect: false,
      nodeArgs: ['--import', 'nodeprof/register'],
      env: { NODEPROF_LISTEN: '127.0.0.1:0', NODEPROF_HEAP_INTERVAL: '128KiB' },
    });
    const { url } = await registerServing(inProcess);
    expect(Number(loadProfile((await request(`${url}heap?gc=1`)).body).period)).toBe(128 * 1024);
  }, 120_000);

  test('the register takes NODEPROF_CPU_INTERVAL, and refuses a bad one with a line', async () => {
    const t = await startTarget('inprocess-app.js', {
      inspect: false,
      nodeArgs: ['--import', 'nodeprof/register'],
      env: { NODEPROF_LISTEN: '127.0.0.1:0', NODEPROF_CPU_INTERVAL: '20ms' },
    });
    const { url } = await registerServing(t);
    expect(rate(loadProfile((await request(`${url}profile?seconds=1`)).body)).period).toBe(20_000_000);

    const bad = await startTarget('inprocess-app.js', {
      inspect: false,
      nodeArgs: ['--import', 'nodeprof/register'],
      env: { NODEPROF_LISTEN: '127.0.0.1:0', NODEPROF_CPU_INTERVAL: '3s' },
    });
    for (let i = 0; i < 200 && !/nodeprof\/register/.test(bad.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(bad.stderr()).toMatch(/^nodeprof\/register: not serving on 127\.0\.0\.1:0: invalid NODEPROF_CPU_INTERVAL '3s'/m);
  }, 120_000);
});
