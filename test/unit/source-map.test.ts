// Source maps on the committed fixture maps: finding a script's map, mapping frames, and the
// CPU converter with a mapper; broken and missing maps leave frames generated with a warning.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Protocol } from 'devtools-protocol';
import { SourceMapCache, loadSourceMaps, sourceMapsForHeapProfile } from '../../src/collect/source-map-loader.js';
import { heapProfileToPprof } from '../../src/pprof/heap-profile.js';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { frameFromCallFrame } from '../../src/pprof/frame.js';
import { stacks } from '../../src/pprof/query.js';
import { dataUrlText, parseSourceMap, scriptsInCpuProfile, sourceMappingURLOf } from '../../src/pprof/source-map-mapper.js';
import { validateProfile } from '../../src/pprof/validate.js';
import { fileUrl, hotSpot, lineOf, sm } from '../helpers/source-maps.js';

describe('sourceMappingURLOf', () => {
  test('finds the trailing comment, inline or file, and ignores comments that are not last', () => {
    expect(sourceMappingURLOf('x()\n//# sourceMappingURL=a.js.map\n')).toBe('a.js.map');
    expect(sourceMappingURLOf('x()\n//@ sourceMappingURL=old.map')).toBe('old.map');
    expect(sourceMappingURLOf('x()\n/*# sourceMappingURL=b.map */\n\n')).toBe('b.map');
    expect(sourceMappingURLOf('x()\n//# sourceMappingURL=data:application/json;base64,e30=\n//# sourceURL=x.js\n')).toBe('data:application/json;base64,e30=');
    expect(sourceMappingURLOf('//# sourceMappingURL=inner.map\nmoreCode();\n')).toBeUndefined();
    expect(sourceMappingURLOf('no map here\n')).toBeUndefined();
    expect(sourceMappingURLOf(fs.readFileSync(sm('tsc-cjs/hot.js'), 'utf8'))).toBe('hot.js.map');
    expect(sourceMappingURLOf(fs.readFileSync(sm('tsc-esm-inline/hot.js'), 'utf8'))).toMatch(/^data:application\/json;base64,/);
  });

  test('data: URLs, base64 and percent-encoded', () => {
    expect(dataUrlText('data:application/json;base64,eyJhIjoxfQ==')).toBe('{"a":1}');
    expect(dataUrlText('data:application/json;charset=utf-8,%7B%22a%22%3A1%7D')).toBe('{"a":1}');
  });

  test('parseSourceMap gives short reasons for what is not a map', () => {
    expect(() => parseSourceMap('{ nope', 'file:///x.js.map')).toThrow('not JSON');
    expect(() => parseSourceMap('{"version":3}', 'file:///x.js.map')).toThrow(/no mappings/);
    expect(() => parseSourceMap(fs.readFileSync(sm('broken-map/hot.js.map'), 'utf8'), 'file:///x.js.map')).toThrow();
  });
});

/** A V8 CPU profile of one script: processImmediate → hotFunction, with line ticks. */
function profileOf(
  scriptId: string,
  url: string,
  name: string,
  line0: number,
  col0: number,
  ticks: Array<[line1: number, n: number]>,
): Protocol.Profiler.Profile {
  const total = ticks.reduce((a, [, n]) => a + n, 0);
  const cf = (functionName: string, u: string, l: number, c: number, id: string) => ({ functionName, scriptId: id, url: u, lineNumber: l, columnNumber: c });
  return {
    nodes: [
      { id: 1, callFrame: cf('(root)', '', -1, -1, '0'), children: [2] },
      { id: 2, callFrame: cf('processImmediate', 'node:internal/timers', 446, 27, '40'), children: [3] },
      { id: 3, callFrame: cf(name, url, line0, col0, scriptId), hitCount: total, positionTicks: ticks.map(([line, n]) => ({ line, ticks: n })) },
    ],
    startTime: 0,
    endTime: total * 1000,
    samples: Array(total).fill(3),
    timeDeltas: Array(total).fill(1000),
  };
}

async function convert(profile: Protocol.Profiler.Profile) {
  const maps = await loadSourceMaps(undefined, scriptsInCpuProfile(profile));
  const p = cpuProfileToPprof(profile, { intervalUs: 1000, mapFrame: maps.mapFrame });
  expect(validateProfile(p)).toEqual([]);
  const byLeaf = new Map<string, number>();
  for (const s of stacks(p)) {
    const f = s.frames[0]!;
    const key = `${f.name} ${f.file}:${f.line}`;
    byLeaf.set(key, (byLeaf.get(key) ?? 0) + s.values[0]!);
  }
  return { maps, p, byLeaf };
}

describe('CPU profiles through source maps (map files, inline maps, bundles)', () => {
  test('tsc CommonJS with .js.map: the hot function at its .ts file, start line and hot line', async () => {
    const js = sm('tsc-cjs/hot.js');
    const ts = hotSpot(sm('src/tsc-cjs/hot.ts'));
    const jsStart = lineOf(js, 'function hotFunction');
    const jsHot = lineOf(js, '// HOT LINE');
    const col = fs.readFileSync(js, 'utf8').split('\n')[jsStart - 1]!.indexOf('(');
    const { maps, p, byLeaf } = await convert(
      profileOf('82', fileUrl('tsc-cjs/hot.js'), 'hotFunction', jsStart - 1, col, [
        [jsHot, 90],
        [jsHot + 3, 10],
      ]),
    );
    expect(maps.warnings).toEqual([]);
    expect(maps.stats).toMatchObject({ scripts: 1, mapped: 1, viaDebugger: 0 });
    expect(byLeaf.get(`hotFunction ${ts.file}:${ts.hotLine}`)).toBe(90);
    expect(byLeaf.get(`hotFunction ${ts.file}:${ts.hotLine + 3}`)).toBe(10);
    const fn = p.function.find((f) => p.stringTable.strings[Number(f.name)] === 'hotFunction')!;
    expect(Number(fn.startLine)).toBe(ts.startLine);
    // the caller, node's own, is untouched
    expect(stacks(p)[0]!.frames[1]!.file).toBe('node:internal/timers');
  });

  test('tsc ESM with an inline data: map', async () => {
    const js = sm('tsc-esm-inline/hot.js');
    const ts = hotSpot(sm('src/tsc-esm-inline/hot.ts'));
    const jsStart = lineOf(js, 'function hotFunction');
    const { maps, byLeaf } = await convert(profileOf('9', fileUrl('tsc-esm-inline/hot.js'), 'hotFunction', jsStart - 1, 27, [[lineOf(js, '// HOT LINE'), 5]]));
    expect(maps.warnings).toEqual([]);
    expect([...byLeaf]).toEqual([[`hotFunction ${ts.file}:${ts.hotLine}`, 5]]);
  });

  test('esbuild bundle: the right module of two, and the original name of a renamed function', async () => {
    const js = sm('bundle/bundle.js');
    const ts = hotSpot(sm('src/bundle/b.ts'));
    const jsStart = lineOf(js, 'function hotFunction2');
    const col = 'function hotFunction2'.length;
    const { byLeaf } = await convert(profileOf('7', fileUrl('bundle/bundle.js'), 'hotFunction2', jsStart - 1, col, [[lineOf(js, 'Math.sqrt'), 5]]));
    expect([...byLeaf]).toEqual([[`hotFunction ${ts.file}:${ts.hotLine}`, 5]]);
  });

  test("generated code on one line (tsx, minifiers): a line tick maps to the first position after its function's start", async () => {
    // one.ts: line 2 `function first() {`, 3 `x();`, 5 `function second() {`, 6 `y();`, all on one generated line.
    const map = { version: 3, sources: ['one.ts'], names: ['first', 'second'], mappings: 'AACA,SAASA,IACP,IAEF,SAASC,IACP' };
    const url = 'data:application/json;base64,' + Buffer.from(JSON.stringify(map)).toString('base64');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-'));
    try {
      fs.writeFileSync(path.join(dir, 'one.js'), `function a(){x()}function b(){y()}\n//# sourceMappingURL=${url}\n`);
      // V8 puts b's start at its `(`, column 27 (0-based); ticks have only a line
      const { p, byLeaf } = await convert(profileOf('3', pathToFileURL(path.join(dir, 'one.js')).href, 'b', 0, 27, [[1, 4]]));
      expect([...byLeaf]).toEqual([[`second ${path.join(dir, 'one.ts')}:6`, 4]]);
      const fn = p.function.find((f) => p.stringTable.strings[Number(f.name)] === 'second')!;
      expect(Number(fn.startLine)).toBe(5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('big scripts: only their end is read for the map comment', () => {
  test('a 3 MB script with a map file, and one whose inline map line is longer than what is read first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-'));
    try {
      const body = 'var a = 1;\n'.repeat(300_000);
      const map = JSON.parse(fs.readFileSync(sm('bundle/bundle.js.map'), 'utf8'));
      map.sources = map.sources.map((s: string) => sm('src/bundle', path.basename(s)));
      fs.writeFileSync(path.join(dir, 'file.js.map'), JSON.stringify(map));
      fs.writeFileSync(path.join(dir, 'file.js'), `${body}//# sourceMappingURL=file.js.map\n`);
      const inline = { ...map, sourcesContent: ['x'.repeat(200_000), '', ''] };
      fs.writeFileSync(
        path.join(dir, 'inline.js'),
        `${body}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(inline)).toString('base64')}\n`,
      );
      fs.writeFileSync(path.join(dir, 'none.js'), `${body}//# sourceMappingURL=not-last.map\nfoo();\n`);
      const r = await loadSourceMaps(
        undefined,
        ['file', 'inline', 'none'].map((n, i) => ({ scriptId: String(i + 1), url: pathToFileURL(path.join(dir, `${n}.js`)).href })),
      );
      expect(r.warnings).toEqual([]);
      expect(r.stats).toMatchObject({ scripts: 3, mapped: 2 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which scripts are read from disk', () => {
  test('a script without an extension (a bin script) is read from disk; .ts and wasm are not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-sm-'));
    try {
      // an absolute file: URL, to a map beside the script (one elsewhere is not followed: see source-maps-hostile)
      const map = { ...JSON.parse(fs.readFileSync(sm('tsc-cjs/hot.js.map'), 'utf8')), sources: [fileUrl('src/tsc-cjs/hot.ts')] };
      fs.writeFileSync(path.join(dir, 'hotbin.map'), JSON.stringify(map));
      const js = fs
        .readFileSync(sm('tsc-cjs/hot.js'), 'utf8')
        .replace('sourceMappingURL=hot.js.map', `sourceMappingURL=${pathToFileURL(path.join(dir, 'hotbin.map')).href}`);
      fs.writeFileSync(path.join(dir, 'hotbin'), js);
      // the same text under a .ts name: a loader's output, so only the target could say; no session here
      fs.writeFileSync(path.join(dir, 'hot.ts'), js);
      const r = await loadSourceMaps(undefined, [
        { scriptId: '1', url: pathToFileURL(path.join(dir, 'hotbin')).href },
        { scriptId: '2', url: pathToFileURL(path.join(dir, 'hot.ts')).href },
        { scriptId: '3', url: 'wasm://wasm/8c5b1f2a' },
      ]);
      expect(r.warnings).toEqual([]);
      expect(r.stats).toMatchObject({ scripts: 2, mapped: 1, viaDebugger: 0 });
      const jsStart = lineOf(sm('tsc-cjs/hot.js'), 'function hotFunction');
      expect(r.mapFrame({ name: 'hotFunction', file: path.join(dir, 'hotbin'), line: jsStart, column: 21, startLine: jsStart }, '1')).toMatchObject({
        file: sm('src/tsc-cjs/hot.ts'),
        startLine: hotSpot(sm('src/tsc-cjs/hot.ts')).startLine,
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('maps that cannot be used never fail the profile', () => {
  test('broken map, missing map file: frames stay generated, one warning each naming the map', async () => {
    for (const dir of ['broken-map', 'missing-map']) {
      const js = sm(dir, 'hot.js');
      const jsStart = lineOf(js, 'function hotFunction');
      const { maps, byLeaf } = await convert(profileOf('5', fileUrl(dir, 'hot.js'), 'hotFunction', jsStart - 1, 20, [[jsStart + 3, 7]]));
      expect(maps.warnings).toHaveLength(1);
      expect(maps.warnings[0]).toMatch(new RegExp(`^warning: source map for ${js}: .*hot\\.js\\.map (is not valid JSON|does not exist)`));
      expect([...byLeaf]).toEqual([[`hotFunction ${js}:${jsStart + 3}`, 7]]);
    }
  });

  test('a map whose sources are gone still maps, with one warning naming them', async () => {
    const js = sm('missing-sources/hot.js');
    const jsStart = lineOf(js, 'function hotFunction');
    const { maps, byLeaf } = await convert(profileOf('5', fileUrl('missing-sources/hot.js'), 'hotFunction', jsStart - 1, 20, [[lineOf(js, '// HOT LINE'), 7]]));
    expect(maps.warnings).toHaveLength(1);
    expect(maps.warnings[0]).toMatch(/^warning: source maps name 1 source file\(s\) not found on this machine \(.*src\/deleted\/hot\.ts\)/);
    expect([...byLeaf]).toEqual([[`hotFunction ${sm('src/deleted/hot.ts')}:${lineOf(sm('src/tsc-cjs/hot.ts'), '// HOT LINE')}`, 7]]);
  });

  test('scripts not on this machine and no session: unchanged, no warning; node: scripts are never looked at', async () => {
    const { maps, byLeaf } = await convert(profileOf('5', 'file:///nowhere/app.js', 'work', 3, 13, [[5, 2]]));
    expect(maps.warnings).toEqual([]);
    expect(maps.stats).toMatchObject({ scripts: 1, mapped: 0 });
    expect([...byLeaf]).toEqual([['work /nowhere/app.js:5', 2]]);
    expect(frameFromCallFrame({ functionName: '', url: 'node:internal/timers', lineNumber: 0, columnNumber: 0 }).file).toBe('node:internal/timers');
  });
});

describe('reuse: heap profiles and a cache across profiles (serve)', () => {
  const js = sm('tsc-cjs/hot.js');
  const ts = hotSpot(sm('src/tsc-cjs/hot.ts'));
  const jsStart = lineOf(js, 'function hotFunction');
  const heap: Protocol.HeapProfiler.SamplingHeapProfile = {
    head: {
      callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
      selfSize: 0,
      id: 1,
      children: [
        {
          callFrame: { functionName: 'hotFunction', scriptId: '82', url: fileUrl('tsc-cjs/hot.js'), lineNumber: jsStart - 1, columnNumber: 20 },
          selfSize: 1 << 20,
          id: 2,
          children: [],
        },
      ],
    },
    samples: [{ size: 1 << 20, nodeId: 2, ordinal: 1 }],
  };

  test('sourceMapsForHeapProfile maps heap frames to the .ts function and line', async () => {
    const maps = await sourceMapsForHeapProfile(undefined, heap);
    const p = heapProfileToPprof(heap, { mode: 'inuse', intervalBytes: 512 * 1024, mapFrame: maps.mapFrame });
    expect(validateProfile(p)).toEqual([]);
    expect(stacks(p).map((s) => s.frames[0])).toEqual([{ name: 'hotFunction', file: ts.file, line: ts.startLine }]);
  });

  test('with a cache, a script is loaded once and its warning printed once', async () => {
    const cache = new SourceMapCache();
    const scripts = [
      { scriptId: '82', url: fileUrl('tsc-cjs/hot.js') },
      { scriptId: '83', url: fileUrl('broken-map/hot.js') },
    ];
    const first = await loadSourceMaps(undefined, scripts, { cache });
    expect(first.warnings).toHaveLength(1);
    expect(first.stats.mapped).toBe(1);
    const second = await loadSourceMaps(undefined, scripts, { cache });
    expect(second.warnings).toEqual([]);
    expect(second.stats.mapped).toBe(1);
    const f = second.mapFrame({ name: 'hotFunction', file: js, line: jsStart, column: 21, startLine: jsStart }, '82');
    expect(f).toMatchObject({ file: ts.file, startLine: ts.startLine });
  });
});
