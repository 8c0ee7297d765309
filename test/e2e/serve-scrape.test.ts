// What a continuous-profiling scraper (Grafana Alloy pyroscope.scrape) does against `nodeprof serve`:
// concurrent rounds of profile, allocs, goroutine, mutex and block; deltas keyed on addresses.
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Profile } from 'pprof-format';
import { str } from '../../src/pprof/query.js';
import { byFunction, loadProfile, sampleTypes } from '../helpers/profiles.js';
import { killAll, startTarget } from '../helpers/processes.js';
import { request, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

afterEach(killAll);

const SCRAPE = ['profile?seconds=2', 'allocs', 'goroutine', 'mutex', 'block'];

/** Each location's address with the frame it stands for, to check one address = one frame, always. */
function frames(p: Profile): Array<[string, string]> {
  const fns = new Map(p.function.map((f) => [Number(f.id), f]));
  return p.location.map((l) => {
    const ln = l.line[0]!;
    const f = fns.get(Number(ln.functionId))!;
    return [l.address.toString(16), `${str(p, f.name)}|${str(p, f.filename)}|${ln.line}|${ln.column}`];
  });
}

function allocsByStack(p: Profile): Map<string, number[]> {
  const addr = new Map(p.location.map((l) => [Number(l.id), l.address.toString(16)]));
  return new Map(p.sample.map((s) => [s.locationId.map((id) => addr.get(Number(id))).join(','), s.value.map(Number)]));
}

describe('scraping nodeprof serve like Grafana Alloy', () => {
  test('concurrent rounds: all 200 octet-stream and valid; addresses stable; alloc_* never decrease', async () => {
    const t = await startTarget('retain.js'); // churns short-lived garbage all the time
    const s = await startServe(t.port, ['--heap-mode', 'alloc', '--quiet']);
    // A scraper's first scrape comes an interval after it starts; wait until the sampler (started
    // at attach, ~40 samples/s of churnGarbage) has samples, so round 0 is not empty by chance.
    await waitFor(async () => loadProfile((await request(`${s.url}allocs`)).body).sample.length > 0, 20_000, 'heap samples');
    const addressToFrame = new Map<string, string>();
    const frameToAddress = new Map<string, string>();
    let previous: Map<string, number[]> | undefined;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(SCRAPE.map((path) => request(s.url + path, { timeoutMs: 30_000 })));
      const profiles = answers.map((a, i) => {
        expect({ path: SCRAPE[i], status: a.status, type: a.headers['content-type'] }).toEqual({
          path: SCRAPE[i],
          status: 200,
          type: 'application/octet-stream',
        });
        expect(a.body.length).toBeGreaterThan(0);
        return loadProfile(a.body);
      });
      const [cpu, allocs, goroutine, mutex, block] = profiles as [Profile, Profile, Profile, Profile, Profile];
      expect(sampleTypes(cpu)).toEqual(['samples/count', 'cpu/nanoseconds']);
      expect(sampleTypes(allocs)).toEqual(['alloc_objects/count', 'alloc_space/bytes']);
      expect(str(allocs, allocs.defaultSampleType)).toBe('alloc_space');
      expect(sampleTypes(goroutine)).toEqual(['goroutine/count']);
      expect(sampleTypes(mutex)).toEqual(['contentions/count', 'delay/nanoseconds']);
      expect(sampleTypes(block)).toEqual(['contentions/count', 'delay/nanoseconds']);
      expect(byFunction(allocs, 'alloc_space').cum.get('churnGarbage')).toBeGreaterThan(0);
      // Scrapers keep at most 4 values per sample.
      for (const p of profiles) expect(p.sampleType.length).toBeLessThanOrEqual(4);

      for (const p of profiles) {
        for (const [address, frame] of frames(p)) {
          expect(BigInt(`0x${address}`)).not.toBe(0n);
          expect(addressToFrame.get(address) ?? frame).toBe(frame);
          expect(frameToAddress.get(frame) ?? address).toBe(address);
          addressToFrame.set(address, frame);
          frameToAddress.set(frame, address);
        }
      }

      const current = allocsByStack(allocs);
      if (previous) {
        for (const [stack, values] of previous) {
          const now = current.get(stack);
          expect(now).toBeDefined();
          expect(now![0]!).toBeGreaterThanOrEqual(values[0]!);
          expect(now![1]!).toBeGreaterThanOrEqual(values[1]!);
        }
      }
      previous = current;
    }
  });

  test('concurrent CPU requests all get a full profile', async () => {
    const t = await startTarget('busy.js');
    const s = await startServe(t.port, ['--quiet']);
    const answers = await Promise.all([1, 2, 3].map(() => request(`${s.url}profile?seconds=2`)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      const p = loadProfile(a.body);
      expect(Number(p.durationNanos)).toBeGreaterThan(1.5e9);
      expect(byFunction(p, 'cpu').flat.get('hotFunction')).toBeGreaterThan(0);
    }
  });

  test('heap ?seconds=N is a delta named <name>-delta; ?gc=1 collects first', async () => {
    const t = await startTarget('retain.js');
    const s = await startServe(t.port, ['--heap-mode', 'alloc', '--quiet']);
    // let the sampler record something first, so the delta is a part of the cumulative total
    for (let i = 0; i < 50 && byFunction(loadProfile((await request(`${s.url}allocs`)).body), 'alloc_space').total === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const delta = await request(`${s.url}allocs?seconds=1`);
    expect(delta.status).toBe(200);
    expect(delta.headers['content-disposition']).toBe('attachment; filename="allocs-delta"');
    const p = loadProfile(delta.body);
    expect(Number(p.durationNanos)).toBeGreaterThan(0.9e9);
    const cumulative = loadProfile((await request(`${s.url}allocs`)).body);
    // the delta covers one second; the cumulative answer everything since attach
    expect(byFunction(p, 'alloc_space').total).toBeLessThan(byFunction(cumulative, 'alloc_space').total);
    expect((await request(`${s.url}heap?gc=1`)).status).toBe(200);
  });
});

describe('goroutine with worker threads', () => {
  test('one sample per thread, labelled, each with its own stack, read without pausing', async () => {
    const t = await startTarget('serve-workers.js');
    const s = await startServe(t.port, ['--quiet']);
    let text = '';
    for (let i = 0; i < 20 && !/hashInWorker/.test(text); i++) {
      text = (await request(`${s.url}goroutine?debug=2`)).text;
      if (!/hashInWorker/.test(text)) await new Promise((r) => setTimeout(r, 250));
    }
    expect(text).toMatch(/^thread main \[(idle|running)\]:/);
    expect(text).toMatch(/thread \[worker \d+\] hasher \[running\]:\nhashInWorker/);
    const p = loadProfile((await request(`${s.url}goroutine`)).body);
    const threads = p.sample.map((x) => str(p, x.label.find((l) => str(p, l.key) === 'thread')!.str)).sort();
    expect(threads).toHaveLength(2);
    expect(threads[0]).toMatch(/^\[worker \d+\] hasher$/);
    expect(threads[1]).toBe('main');
  });
});
