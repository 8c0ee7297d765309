// The picture builders on plain data: flame trees from pprof (ours and Go-shaped), speedscope's
// file format (the schema's required fields), and the HTML page's escaping of hostile names.
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Protocol } from 'devtools-protocol';
import { Profile, StringTable } from 'pprof-format';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { encodePprof } from '../../src/pprof/encode.js';
import { flameData, type FlameData } from '../../src/output/flame-data.js';
import { htmlFromFlame, jsonForScript, toHtml } from '../../src/output/html.js';
import { toSpeedscope } from '../../src/output/speedscope.js';
import { profileFromBytes, viewFileName } from '../../src/cli/view.js';
import { planJobs, type AttachPlan } from '../../src/attach/plan.js';
import { FIXTURES } from '../helpers/processes.js';

const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'recorded/busy.cpuprofile'), 'utf8')) as Protocol.Profiler.Profile;
const busy = cpuProfileToPprof(recorded, { intervalUs: 1000, startedAtMs: 1_700_000_000_000 });

const HOSTILE = '</script><script>alert(1)</script><!-- \u2028 & "\'';

/** A Go-shaped profile: a location with an inlined frame, two threads, one sample without a label. */
function goShaped(name = 'leaf'): Profile {
  const st = new StringTable();
  return new Profile({
    sampleType: [
      { type: st.dedup('alloc_objects'), unit: st.dedup('count') },
      { type: st.dedup('alloc_space'), unit: st.dedup('bytes') },
    ],
    function: [
      { id: 1, name: st.dedup('main.main'), filename: st.dedup('main.go'), startLine: 10 },
      { id: 2, name: st.dedup('main.inlined'), filename: st.dedup('main.go'), startLine: 20 },
      { id: 3, name: st.dedup(name), filename: st.dedup('leaf.go'), startLine: 30 },
    ],
    location: [
      // Lines innermost first: main.inlined was inlined into main.main at this address.
      {
        id: 1,
        address: 0x1000,
        line: [
          { functionId: 2, line: 22 },
          { functionId: 1, line: 12 },
        ],
      },
      { id: 2, address: 0x2000, line: [{ functionId: 3, line: 31 }] },
    ],
    sample: [
      { locationId: [2, 1], value: [3, 300], label: [{ key: st.dedup('thread'), str: st.dedup('main') }] },
      { locationId: [1], value: [1, 100], label: [{ key: st.dedup('thread'), str: st.dedup('worker 1') }] },
      { locationId: [2, 1], value: [2, 200], label: [{ key: st.dedup('thread'), str: st.dedup('main') }] },
    ],
    stringTable: st,
    defaultSampleType: st.dedup('alloc_space'),
  });
}

/** Root-to-node frame names of every node with a self value, per thread. */
function stacksOf(d: FlameData, type: number): Record<string, Array<[string, number]>> {
  const out: Record<string, Array<[string, number]>> = {};
  for (const t of d.threads) {
    const names = (i: number): string[] => (i < 0 ? [] : [...names(t.parent[i]!), d.frames[t.frame[i]!]!.name]);
    out[t.name] = t.self[type]!.flatMap((v, i) => (v > 0 ? [[names(i).join(';'), v] as [string, number]] : []));
  }
  return out;
}

describe('flameData', () => {
  test('our CPU profile: one tree; the self values add up to the profile; hotFunction holds most of cpu', () => {
    const d = flameData(busy);
    expect(d.sampleTypes).toEqual([
      { type: 'samples', unit: 'count' },
      { type: 'cpu', unit: 'nanoseconds' },
    ]);
    expect(d.defaultType).toBe(1);
    expect(d.timeMs).toBe(1_700_000_000_000);
    expect(d.threads.map((t) => t.name)).toEqual(['all']);
    const t = d.threads[0]!;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(t.self[1]!)).toBe(busy.sample.reduce((a, s) => a + Number(s.value[1]), 0));
    // Parents come before their children.
    t.parent.forEach((p, i) => expect(p).toBeLessThan(i));
    const hot = t.frame.findIndex((f) => d.frames[f]!.name === 'hotFunction');
    expect(t.self[1]![hot]! / sum(t.self[1]!)).toBeGreaterThan(0.9);
    expect(d.frames[t.frame[hot]!]).toMatchObject({ name: 'hotFunction', file: expect.stringMatching(/fixtures[/]busy\.js$/), line: 5 });
  });

  test('Go-shaped: inlined frames expanded outermost first, split by thread label, values per sample type', () => {
    const d = flameData(goShaped());
    expect(d.defaultType).toBe(1);
    expect(stacksOf(d, 1)).toEqual({ main: [['main.main;main.inlined;leaf', 500]], 'worker 1': [['main.main;main.inlined', 100]] });
    expect(stacksOf(d, 0)).toEqual({ main: [['main.main;main.inlined;leaf', 5]], 'worker 1': [['main.main;main.inlined', 1]] });
  });
});

describe('toSpeedscope', () => {
  const required = ['endValue', 'name', 'samples', 'startValue', 'type', 'unit', 'weights'];
  const units = ['bytes', 'microseconds', 'milliseconds', 'nanoseconds', 'none', 'seconds'];

  function expectValid(file: unknown): void {
    // https://www.speedscope.app/file-format-schema.json: File and SampledProfile's required fields.
    const f = JSON.parse(JSON.stringify(file)) as { $schema: string; shared: { frames: Array<{ name: unknown }> }; profiles: Array<Record<string, unknown>> };
    expect(f.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    for (const fr of f.shared.frames) expect(typeof fr.name).toBe('string');
    expect(f.profiles.length).toBeGreaterThan(0);
    for (const p of f.profiles) {
      for (const k of required) expect(p).toHaveProperty(k);
      expect(p.type).toBe('sampled');
      expect(units).toContain(p.unit);
      const samples = p.samples as number[][];
      const weights = p.weights as number[];
      expect(samples.length).toBe(weights.length);
      for (const s of samples) for (const i of s) expect(f.shared.frames[i]).toBeDefined();
      expect(weights.reduce((a, b) => a + b, 0)).toBe(p.endValue);
    }
  }

  test('CPU: one profile in nanoseconds, hotFunction stacks weigh most', () => {
    const s = toSpeedscope(busy, { name: 'cpu' });
    expectValid(s);
    expect(s.profiles.map((p) => [p.name, p.unit])).toEqual([['cpu', 'nanoseconds']]);
    const hot = s.shared.frames.findIndex((f) => f.name === 'hotFunction');
    const p = s.profiles[0]!;
    const hotWeight = p.samples.reduce((a, st, i) => a + (st.at(-1) === hot ? p.weights[i]! : 0), 0);
    expect(hotWeight / p.endValue).toBeGreaterThan(0.9);
  });

  test('threads: one profile per thread; a chosen sample type; stacks outermost first', () => {
    const s = toSpeedscope(goShaped(), { sampleType: 'alloc_objects' });
    expectValid(s);
    const names = (st: number[]) => st.map((i) => s.shared.frames[i]!.name).join(';');
    expect(s.profiles.map((p) => [p.name, p.unit, p.samples.map(names), p.weights])).toEqual([
      ['main', 'none', ['main.main;main.inlined;leaf'], [5]],
      ['worker 1', 'none', ['main.main;main.inlined'], [1]],
    ]);
    expect(toSpeedscope(goShaped()).profiles[0]!.unit).toBe('bytes');
  });
});

describe('toHtml', () => {
  test('a hostile function name and target stay data: one script element runs, hashed in the CSP', () => {
    const html = toHtml(goShaped(HOSTILE), { target: HOSTILE });
    expect(html).not.toContain('</script><script>alert');
    expect(html).not.toContain('<!-- ');
    // The data block and the script: nothing else opens a script.
    expect(html.match(/<script/g)).toHaveLength(2);
    const data = /<script type="application\/json" id="data">([^<]*)<\/script>/.exec(html);
    expect(data).not.toBeNull();
    const parsed = JSON.parse(data![1]!) as FlameData;
    expect(parsed.frames.map((f) => f.name)).toContain(HOSTILE);
    expect(html).toContain(`<title>nodeprof alloc_space: &#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!-- \u2028 &#38; &#34;&#39;</title>`);
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(script).digest('base64');
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).not.toMatch(/unsafe|https?:/);
  });

  test('jsonForScript leaves no < and keeps line separators escaped', () => {
    const text = jsonForScript({ a: HOSTILE });
    expect(text).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual({ a: HOSTILE });
  });

  test('the page title says the kind, the target; the subtitle the time and window', () => {
    const d = flameData(busy);
    const html = htmlFromFlame({ ...d, durationMs: 2500 }, { target: 'pid 42 (127.0.0.1:9229)', kind: 'cpu' });
    expect(html).toContain('<title>nodeprof cpu: pid 42 (127.0.0.1:9229)</title>');
    expect(html).toContain('<span class="sub" id="sub">2023-11-14 22:13:20 UTC, window 2.5 s</span>');
  });
});

describe('view: reading profile files', () => {
  test('pprof gzipped or not, a .cpuprofile; anything else is one clear error', async () => {
    const raw = busy.encode();
    for (const bytes of [encodePprof(busy), raw, Buffer.from(JSON.stringify(recorded)), gzipSync(JSON.stringify(recorded))]) {
      const { profile } = await profileFromBytes(bytes);
      expect(flameData(profile).frames.some((f) => f.name === 'hotFunction')).toBe(true);
    }
    await expect(profileFromBytes(Buffer.from('{"x":1}'))).rejects.toThrow('a JSON file that is neither a V8 .cpuprofile nor a .heapprofile');
    await expect(profileFromBytes(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).rejects.toThrow(/^not a readable gzip file/);
    await expect(profileFromBytes(Buffer.from('hello world, not a profile'))).rejects.toThrow(/^not a pprof profile/);
  });

  test('the HTML file is named after the profile, safely', () => {
    expect(viewFileName('/tmp/cpu.pb.gz')).toBe('cpu.html');
    expect(viewFileName('x/CPU.20260101.cpuprofile')).toBe('CPU.20260101.html');
    expect(viewFileName('../../..')).toBe('profile.html');
    expect(viewFileName('a b;rm -rf.pprof')).toBe('a_b_rm_-rf.html');
  });
});

describe('attach: --format html|speedscope', () => {
  const base: AttachPlan = { target: { kind: 'address', host: '127.0.0.1', port: 9229 } as AttachPlan['target'], intervalUs: 1000, top: false, open: false };

  test('the kinds with a pprof form are written as the picture; the others keep their own format or refuse it alone', () => {
    for (const format of ['html', 'speedscope'] as const) {
      const jobs = planJobs({ ...base, format, cpu: { durationMs: 1000 }, heap: {}, trace: { durationMs: 1000, categories: ['v8'] }, heapSnapshot: true });
      expect(jobs.map((j) => [j.job.kind, j.format])).toEqual([
        ['cpu', format],
        ['trace', 'trace'],
        ['heap', format],
        ['heapsnapshot', 'heapsnapshot'],
      ]);
      expect(planJobs({ ...base, format, allocs: { durationMs: 1000 } }).map((j) => j.format)).toEqual([format]);
      expect(() => planJobs({ ...base, format, heapSnapshot: true })).toThrow(`--format ${format} does not apply to --heapsnapshot`);
    }
  });
});
