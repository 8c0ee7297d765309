// `nodeprof attach --cpu` on TypeScript and bundled targets: the hot function shows under its .ts
// file and line; unusable maps give a valid, generated profile and one warning.
import { afterEach, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Profile } from 'pprof-format';
import { stacks } from '../../src/pprof/query.js';
import { byFunction, loadProfile } from '../helpers/profiles.js';
import { FIXTURES, killAll, runCli, startTarget } from '../helpers/processes.js';
import { hotSpot, lineOf, sm } from '../helpers/source-maps.js';
import { request, startServe } from '../helpers/serve.js';

afterEach(killAll);

async function profile(fixture: string, extra: string[] = [], nodeArgs: string[] = []) {
  const t = await startTarget(path.join('sourcemaps', fixture), { nodeArgs });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-')), 'cpu.pb.gz');
  const r = await runCli(['attach', String(t.port), '--cpu', '2s', '-o', out, ...extra]);
  expect(r.code).toBe(0);
  return { p: loadProfile(out), stderr: r.stderr, target: t };
}

/** The hot function's leaf samples: its file, its busiest line, its function's start line. */
function hot(p: Profile, name = 'hotFunction') {
  const leaves = stacks(p).filter((s) => s.frames[0]!.name === name);
  expect(leaves.length).toBeGreaterThan(0);
  const files = new Set(leaves.map((s) => s.frames[0]!.file));
  const byLine = new Map<number, number>();
  for (const s of leaves) byLine.set(s.frames[0]!.line, (byLine.get(s.frames[0]!.line) ?? 0) + s.values[1]!);
  const topLine = [...byLine].sort((a, b) => b[1] - a[1])[0]![0];
  const startLines = p.function.filter((f) => p.stringTable.strings[Number(f.name)] === name).map((f) => Number(f.startLine));
  const { flat, total } = byFunction(p, 'cpu');
  return { files: [...files], topLine, startLines, share: (flat.get(name) ?? 0) / total };
}

describe('attach --cpu with source maps (on by default)', () => {
  test('tsc, CommonJS, .js.map files: hot.ts, its hot line and start line', async () => {
    const { p, stderr } = await profile('tsc-cjs/main.js');
    const ts = hotSpot(sm('src/tsc-cjs/hot.ts'));
    const h = hot(p);
    expect(h.share).toBeGreaterThan(0.7);
    expect(h.files).toEqual([ts.file]);
    expect(h.topLine).toBe(ts.hotLine);
    expect(h.startLines).toEqual([ts.startLine]);
    expect(stderr).toMatch(/source maps: 1 of 1 scripts mapped to their original sources \(\d+ms\)\n/);
    expect(stderr).not.toMatch(/warning/);
  });

  test("--workers maps each thread through its own scripts: the worker's hot function at its .ts line", async () => {
    const { p, stderr } = await profile('worker-host.mjs', ['--workers']);
    const ts = hotSpot(sm('src/tsc-cjs/hot.ts'));
    const h = hot(p);
    expect(h.share).toBeGreaterThan(0.5);
    expect(h.files).toEqual([ts.file]);
    expect(h.topLine).toBe(ts.hotLine);
    expect(stderr).toMatch(/source maps \(worker 1 ts-worker\): 1 of 1 scripts mapped/);
  });

  test('tsc, ESM, inline data: maps', async () => {
    const { p } = await profile('tsc-esm-inline/main.js');
    const ts = hotSpot(sm('src/tsc-esm-inline/hot.ts'));
    const h = hot(p);
    expect(h.files).toEqual([ts.file]);
    expect(h.topLine).toBe(ts.hotLine);
    expect(h.startLines).toEqual([ts.startLine]);
  });

  test('esbuild bundle of two modules: b.ts, and the original name of the function esbuild renamed; collapsed too', async () => {
    const { p, target } = await profile('bundle/bundle.js');
    const ts = hotSpot(sm('src/bundle/b.ts'));
    const h = hot(p);
    expect(h.files).toEqual([ts.file]);
    expect(h.topLine).toBe(ts.hotLine);
    expect(h.startLines).toEqual([ts.startLine]);
    expect(byFunction(p).flat.has('hotFunction2')).toBe(false);

    const c = await runCli(['attach', String(target.port), '--cpu', '1s', '--format', 'collapsed']);
    expect(c.code).toBe(0);
    expect(c.stdout.toString()).toMatch(/processImmediate;hotFunction \d+\n/);
  });

  test('a loader that transforms .ts in memory (as tsx does): the map comes from Debugger.scriptParsed, and the target runs on', async () => {
    const register = sm('loader/register.js');
    const { p, stderr, target } = await profile('src/tsc-esm-inline/main.ts', [], ['--import', register]);
    const ts = hotSpot(sm('src/tsc-esm-inline/hot.ts'));
    const h = hot(p);
    expect(h.files).toEqual([ts.file]);
    expect(h.topLine).toBe(ts.hotLine);
    expect(h.startLines).toEqual([ts.startLine]);
    expect(stderr).toMatch(/source maps: 1 of 1 scripts mapped to their original sources \(\d+ms, 1 looked up through Debugger\.scriptParsed\)/);
    expect(stderr).not.toMatch(/warning/);
    // Debugger.enable was undone: a second attach profiles normally, the target never paused
    const again = await runCli(['attach', String(target.port), '--cpu', '1s', '--no-source-maps']);
    expect(again.code).toBe(0);
    expect(hot(loadProfile(again.stdout)).share).toBeGreaterThan(0.5);
  });

  test('--no-source-maps keeps the generated JavaScript', async () => {
    const { p, stderr } = await profile('tsc-cjs/main.js', ['--no-source-maps']);
    const js = sm('tsc-cjs/hot.js');
    const h = hot(p);
    expect(h.files).toEqual([js]);
    expect(h.topLine).toBe(lineOf(js, '// HOT LINE'));
    expect(stderr).not.toMatch(/source maps/);
  });
});

describe('unusable maps never fail the profile', () => {
  test.each([
    ['broken-map', /hot\.js\.map is not valid JSON/],
    ['missing-map', /hot\.js\.map does not exist/],
  ])('%s: a valid profile in the generated JavaScript, and one warning line', async (dir, reason) => {
    const { p, stderr } = await profile(`${dir}/main.js`);
    const js = sm(dir, 'hot.js');
    const h = hot(p);
    expect(h.files).toEqual([js]);
    expect(h.topLine).toBe(lineOf(js, '// HOT LINE'));
    const warnings = stderr.split('\n').filter((l) => l.startsWith('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^warning: source map for ${js}: `));
    expect(warnings[0]).toMatch(reason);
  });

  test('a map naming sources that are not on disk: mapped anyway, one warning naming them', async () => {
    const { p, stderr } = await profile('missing-sources/main.js');
    const h = hot(p);
    expect(h.files).toEqual([sm('src/deleted/hot.ts')]);
    expect(h.topLine).toBe(hotSpot(sm('src/tsc-cjs/hot.ts')).hotLine);
    const warnings = stderr.split('\n').filter((l) => l.startsWith('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(sm('src/deleted/hot.ts'));
  });

  test('warnings pass --quiet', async () => {
    const t = await startTarget('sourcemaps/broken-map/main.js');
    const r = await runCli(['attach', String(t.port), '--cpu', '500ms', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^warning: source map for .*hot\.js: /)]);
  });
});

describe('a script rebuilt while the target runs', () => {
  test('its map may not match what runs: mapped anyway, with one warning', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-rebuilt-'));
    fs.cpSync(sm('tsc-cjs'), path.join(dir, 'tsc-cjs'), { recursive: true });
    fs.cpSync(sm('src/tsc-cjs'), path.join(dir, 'src/tsc-cjs'), { recursive: true });
    const t = await startTarget(path.relative(FIXTURES, path.join(dir, 'tsc-cjs/main.js')));
    const hotJs = path.join(dir, 'tsc-cjs/hot.js');
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(hotJs, later, later);
    const r = await runCli(['attach', String(t.port), '--cpu', '1s']);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning'));
    expect(warnings).toEqual([
      `warning: ${hotJs} changed on disk after the target started: its source map may not match the code that runs (frames are mapped anyway)`,
    ]);
    expect(hot(loadProfile(r.stdout)).files).toEqual([path.join(dir, 'src/tsc-cjs/hot.ts')]);
  });
});

describe('attach --allocs with source maps', () => {
  test('allocation stacks name the .ts file and the function start line of the TypeScript source', async () => {
    const t = await startTarget('sourcemaps/tsc-cjs/main.js');
    // setImmediate(hotFunction) allocates an Immediate per call: a small interval samples them.
    const r = await runCli(['attach', String(t.port), '--allocs', '2s', '--heap-interval', '1KiB']);
    expect(r.code).toBe(0);
    const frames = stacks(loadProfile(r.stdout)).flatMap((s) => s.frames);
    const hot = frames.filter((f) => f.name === 'hotFunction');
    expect(hot.length).toBeGreaterThan(0);
    expect(hot.every((f) => f.file === path.join(FIXTURES, 'sourcemaps/src/tsc-cjs/hot.ts'))).toBe(true);
    expect(hot[0]!.line).toBe(lineOf(path.join(FIXTURES, 'sourcemaps/src/tsc-cjs/hot.ts'), 'export function hotFunction'));
    expect(frames.some((f) => f.file.endsWith('.js') && f.file.includes('sourcemaps/tsc-cjs'))).toBe(false);
  });
});

describe('stack with source maps', () => {
  test('the running frame is shown at its .ts file and line; --no-source-maps shows the JavaScript', async () => {
    const t = await startTarget('sourcemaps/tsc-cjs/main.js');
    const ts = path.join(FIXTURES, 'sourcemaps/src/tsc-cjs/hot.ts');
    const start = lineOf(ts, 'export function hotFunction');
    const r = await runCli(['stack', String(t.port)]);
    expect(r.code).toBe(0);
    const m = new RegExp(`hotFunction \\(${ts.replace(/[.]/g, '\\.')}:(\\d+):\\d+\\)`).exec(r.stdout.toString());
    // what stack printed, in the failure: this failed once in CI (2026-12-04) and not in 8 runs after
    if (!m) throw new Error(`no hotFunction frame at ${ts} in stack's output:\n${r.stdout}\nstderr: ${r.stderr}`);
    const line = Number(m![1]);
    expect(line).toBeGreaterThan(start);
    expect(line).toBeLessThanOrEqual(lineOf(ts, 'setImmediate(hotFunction)'));
    const raw = await runCli(['stack', String(t.port), '--no-source-maps']);
    expect(raw.stdout.toString()).toMatch(/hotFunction \(.*sourcemaps\/tsc-cjs\/hot\.js:\d+:\d+\)/);
  });
});

describe('serve with source maps', () => {
  test('/profile names the .ts file and line; /allocs too', async () => {
    const t = await startTarget('sourcemaps/tsc-cjs/main.js');
    const ts = path.join(FIXTURES, 'sourcemaps/src/tsc-cjs/hot.ts');
    const serving = await startServe(t.port, ['--heap-mode', 'alloc']);
    const cpu = await request(`${serving.url}profile?seconds=2`, { timeoutMs: 30_000 });
    expect(cpu.status).toBe(200);
    const leaves = stacks(loadProfile(cpu.body)).filter((s) => s.frames[0]!.name === 'hotFunction');
    expect(leaves.length).toBeGreaterThan(0);
    expect(leaves.every((s) => s.frames[0]!.file === ts)).toBe(true);
    expect(leaves.map((s) => s.frames[0]!.line)).toContain(lineOf(ts, 'HOT LINE'));
    const allocs = await request(`${serving.url}allocs`, { timeoutMs: 30_000 });
    expect(allocs.status).toBe(200);
    const files = new Set(stacks(loadProfile(allocs.body)).flatMap((s) => s.frames.map((f) => f.file)));
    expect([...files].some((f) => f.endsWith('sourcemaps/tsc-cjs/hot.js'))).toBe(false);
    serving.run.proc.kill('SIGINT');
    expect((await serving.run.done).code).toBe(0);
  });
});
