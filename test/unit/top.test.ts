// nodeprof top's parts that need no terminal: summing windows per function, the screen's text
// (escaped, fitted to the terminal) and the keys read in raw mode.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { Protocol } from 'devtools-protocol';
import { cpuProfileToPprof } from '../../src/pprof/cpu-profile.js';
import { countWindow, ThreadModel } from '../../src/top/model.js';
import { hertz, renderScreen } from '../../src/top/screen.js';
import { keysIn } from '../../src/top/terminal.js';
import { FIXTURES } from '../helpers/processes.js';

const recorded = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'recorded/busy.cpuprofile'), 'utf8')) as Protocol.Profiler.Profile;

type Node = Protocol.Profiler.ProfileNode;
function frame(id: number, functionName: string, url: string, lineNumber: number, children: number[] = []): Node {
  return { id, callFrame: { functionName, url, lineNumber, columnNumber: 0, scriptId: '1' }, children, hitCount: 0 };
}

/** A profile of `samples` (node ids), one every 10 ms. */
function profile(nodes: Node[], samples: number[]): Protocol.Profiler.Profile {
  return { nodes, samples, timeDeltas: samples.map(() => 10_000), startTime: 0, endTime: samples.length * 10_000 };
}

// (root) -> main -> recurse -> recurse -> leaf ; (root) -> (idle) ; (root) -> (garbage collector)
const nodes = [
  frame(1, '(root)', '', -1, [2, 6, 7]),
  frame(2, 'main', 'file:///app/main.js', 0, [3]),
  frame(3, 'recurse', 'file:///app/main.js', 9, [4]),
  frame(4, 'recurse', 'file:///app/main.js', 9, [5]),
  frame(5, 'leaf', 'file:///app/main.js', 19),
  frame(6, '(idle)', '', -1),
  frame(7, '(garbage collector)', '', -1),
];

function window(samples: number[]) {
  const p = profile(nodes, samples);
  return countWindow(cpuProfileToPprof(p, { intervalUs: 10_000 }), (p.endTime - p.startTime) / 1000);
}

describe('ThreadModel', () => {
  test('own and total shares per function; a recursive function counts once per sample; idle and GC apart', () => {
    const m = new ThreadModel(3000);
    // 5 samples in leaf (under recurse twice), 2 in recurse itself, 1 idle, 2 GC.
    m.add(window([5, 5, 5, 5, 5, 4, 4, 6, 7, 7]));
    const rows = m.rows('own', false);
    const by = new Map(rows.map((r) => [r.id.name, r]));
    expect(by.get('leaf')).toMatchObject({ own: 0.5, total: 0.5, id: { file: '/app/main.js', line: 20 } });
    expect(by.get('recurse')).toMatchObject({ own: 0.2, total: 0.7, id: { line: 10 } });
    expect(by.get('main')).toMatchObject({ own: 0, total: 0.7 });
    expect(by.has('(idle)')).toBe(false);
    expect(rows[0]!.id.name).toBe('leaf');
    expect(m.recent()).toMatchObject({ samples: 10, idle: 0.1, gc: 0.2, ms: 100 });
    // Times since the start: 5 samples of 10 ms.
    expect(by.get('leaf')!.ownTime).toBeCloseTo(0.05, 5);
    expect(m.rows('total', false)[0]!.id.name).toMatch(/^(main|recurse)$/);
  });

  test('the shares cover the last span only; the times everything since the reset', () => {
    const m = new ThreadModel(200);
    m.add(window(Array(10).fill(5))); // 100 ms of leaf
    m.add(window(Array(10).fill(4))); // 100 ms of recurse
    m.add(window(Array(10).fill(4))); // 100 ms of recurse: the first window is out of the span
    const by = new Map(m.rows('own', false).map((r) => [r.id.name, r]));
    expect(by.get('leaf')!.own).toBe(0);
    expect(by.get('leaf')!.ownTime).toBeCloseTo(0.1, 5);
    expect(by.get('recurse')!.own).toBe(1);
    m.reset();
    expect(m.rows('own', false).map((r) => r.id.name)).not.toContain('leaf');
  });

  test('a recorded profile of busy.js: hotFunction on top, and its hot line with lines on', () => {
    const m = new ThreadModel(3000);
    m.add(countWindow(cpuProfileToPprof(recorded, { intervalUs: 1000 }), (recorded.endTime - recorded.startTime) / 1000));
    expect(m.rows('own', false)[0]!.id).toMatchObject({ name: 'hotFunction', line: 5 });
    expect(m.rows('own', true)[0]!.id).toMatchObject({ name: 'hotFunction', line: 8 });
  });
});

describe('renderScreen', () => {
  test('escapes what the target named, fits the terminal, marks the sort column', () => {
    const evil = [frame(1, '(root)', '', -1, [2]), frame(2, 'evil\x1b]0;pwned\x07\u202e', 'file:///app/\x1b[2Jx.js', 0)];
    const m = new ThreadModel(3000);
    const p = profile(evil, [2, 2]);
    m.add(countWindow(cpuProfileToPprof(p, { intervalUs: 10_000 }), 20));
    const lines = renderScreen(
      {
        title: 'pid 1 node v22 \x1b[31mapp',
        threads: [{ label: 'main', model: m }],
        selected: 0,
        sort: 'total',
        lines: false,
        paused: false,
        intervalUs: 10_000,
      },
      100,
      12,
    );
    expect(lines).toHaveLength(12);
    for (const l of lines) {
      expect(l.length).toBeLessThanOrEqual(100);
      expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    }
    const text = lines.join('\n');
    expect(text).toContain('evil\\x1b]0;pwned\\x07\\u202e (/app/\\x1b[2Jx.js:1)');
    // A narrow terminal: the line is cut, never wrapped.
    const narrow = renderScreen(
      { title: 't', threads: [{ label: 'main', model: m }], selected: 0, sort: 'own', lines: false, paused: false, intervalUs: 10_000 },
      40,
      8,
    );
    expect(narrow.every((l) => l.length <= 40)).toBe(true);
    expect(text).toContain('%Total▼');
    expect(text).toMatch(/sampling at 100 Hz/);
  });

  test('threads are listed with the selected one in brackets', () => {
    const a = new ThreadModel(3000);
    const b = new ThreadModel(3000);
    const lines = renderScreen(
      {
        title: 't',
        threads: [
          { label: 'main', model: a },
          { label: 'worker 1 hasher', model: b, problem: 'this worker exited' },
        ],
        selected: 1,
        sort: 'own',
        lines: true,
        paused: true,
        intervalUs: 1000,
      },
      100,
      10,
    );
    expect(lines.join('\n')).toMatch(/threads \(Tab\): main {2}\[worker 1 hasher\]/);
    expect(lines.join('\n')).toMatch(/! this worker exited/);
    expect(lines[1]).toMatch(/worker 1 hasher: sampling at 1 kHz, waiting for the first samples {2}PAUSED/);
  });

  test('a thread that only waited says so instead of an empty table', () => {
    const m = new ThreadModel(3000);
    m.add(window([6, 6, 6]));
    const text = renderScreen(
      { title: 't', threads: [{ label: 'main', model: m }], selected: 0, sort: 'own', lines: false, paused: false, intervalUs: 10_000 },
      100,
      10,
    ).join('\n');
    expect(text).toMatch(/busy 0\.0%, idle 100\.0%/);
    expect(text).toMatch(/no JavaScript ran: the thread was idle/);
  });

  test('rates', () => {
    expect(hertz(10_000)).toBe('100 Hz');
    expect(hertz(1000)).toBe('1 kHz');
    expect(hertz(30_000)).toBe('33.3 Hz');
  });
});

test('keys in raw mode: q, Ctrl-C, Tab, Shift-Tab; other escape sequences skipped whole', () => {
  expect(keysIn('q')).toEqual(['quit']);
  expect(keysIn('\x03')).toEqual(['quit']);
  expect(keysIn('1l\t\x1b[Zp')).toEqual(['sort1', 'lines', 'next-thread', 'previous-thread', 'pause']);
  // An arrow key (ESC [ A) is not "A" nor a quit; the 2 after it is a sort.
  expect(keysIn('\x1b[A2')).toEqual(['sort2']);
  expect(keysIn('\x1b[1;5C')).toEqual([]);
});
