// Go's legacy text profiles (serve's ?debug=1): the layout byte for byte as Go 1.19's runtime/pprof
// writes it (recorded from a net/http/pprof server), the lines google/pprof's legacy parser
// accepts, addresses that land on the AddressBook's after pprof's -1, and escaped target strings.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { AddressBook } from '../../src/pprof/address-book.js';
import { ProfileBuilder } from '../../src/pprof/builder.js';
import type { Frame } from '../../src/pprof/frame.js';
import { contentionText, countText, heapText, tabwriter } from '../../src/serve/go-text.js';
import { emptyAnswer, goroutineAnswer } from '../../src/serve/profiles.js';
import { FIXTURES } from '../helpers/processes.js';

// google/pprof profile/legacy_profile.go
const heapHeaderRE = /heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *(heap[_a-z0-9]*)\/?(\d*)/;
const heapSampleRE = /(-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*)/;
const countStartRE = /^(\S+) profile: total \d+$/;
const countRE = /^(\d+) @(( 0x[0-9a-f]+)+)$/;

const recorded = (name: string) => fs.readFileSync(path.join(FIXTURES, 'recorded/go', name), 'utf8');

const frame = (name: string, file: string, line: number): Frame => ({ name, file, line, column: 1, startLine: line });

/** pprof's reading of a stack line: each return address less 1. */
const callAddresses = (line: string) => [...line.matchAll(/0x[0-9a-f]+/g)].map((m) => BigInt(m[0]) - 1n);

describe('tabwriter', () => {
  test.each(['goroutine-debug1.txt', 'heap-debug1.txt'])("lays out Go's %s exactly as Go did from its single-tab cells", (name) => {
    const go = recorded(name);
    expect(go).toMatch(/\t\t/); // the recording does have padded columns
    expect(tabwriter(go.replace(/\t+/g, '\t'))).toBe(go);
  });
});

describe('heap?debug=1', () => {
  const book = new AddressBook();
  const heap = (type: 'inuse' | 'alloc') => {
    const b = new ProfileBuilder({
      sampleTypes: [
        [`${type}_objects`, 'count'],
        [`${type}_space`, 'bytes'],
      ],
      periodType: ['space', 'bytes'],
      period: 512 * 1024,
      addresses: book,
    });
    const leaf = frame('retainMemory', '/srv/app.js', 7);
    const root = frame('main', '/srv/app.js', 20);
    // 1,000 objects of 1 KiB (what V8 reports: already scaled) and one 4 MiB object
    b.addSample([leaf, root], [1000, 1024 * 1000], { thread: 'main' });
    b.addSample([frame('big', '/srv/app.js', 30), root], [1, 4 << 20]);
    b.addComment('nodeprof: a comment');
    return b.build();
  };

  test("Go's header and sample lines, as pprof's parser reads them; equal in-use and allocated pairs (two columns)", () => {
    const text = heapText(heap('inuse'));
    const lines = text.split('\n');
    const h = heapHeaderRE.exec(lines[0]!)!;
    expect(lines[0]).toBe(`heap profile: ${h[1]}: ${h[2]} [${h[1]}: ${h[2]}] @ heap/1048576`);
    const samples = lines.filter((l) => /^\d/.test(l));
    expect(samples).toHaveLength(2);
    for (const l of samples) expect(heapSampleRE.exec(l)![0]).toBe(l);
    // largest first; the 4 MiB object is one sample of about itself (4 MiB × (1 - e^-8)), the small ones are unscaled
    expect(samples[0]).toMatch(/^1: (41928\d\d) \[1: \1\] @ 0x[0-9a-f]+ 0x[0-9a-f]+$/);
    const [, count, bytes] = /^(\d+): (\d+) /.exec(samples[1]!)!.map(Number);
    expect(count).toBe(1); // 1000 × (1 - e^(-1024/524288)) ≈ 1.95, rounded down
    // pprof's scaling of what we wrote gives back the binary answer's bytes, its objects about (1,000 KiB as one sample)
    const scale = 1 / (1 - Math.exp(-(bytes! / count!) / 524288));
    expect(Math.abs(bytes! * scale - 1024000)).toBeLessThan(1024000 * 1e-3);
    expect(text).toMatch(/^# nodeprof: a comment$/m);
    expect(text).toMatch(/^# nodeprof: in-use and allocated columns are equal: the sampler counts live objects only$/m);
  });

  test("stack lines list the book's addresses + 1 (pprof subtracts 1); # lines the book's own, with Go's func+offset and file:line", () => {
    const p = heap('alloc');
    const text = heapText(p);
    const lines = text.split('\n');
    const stack = lines[lines.findIndex((l) => l.includes('retainMemory')) - 1]!;
    const [leaf, root] = callAddresses(stack);
    expect(book.lookup(leaf!)!.name).toBe('retainMemory');
    expect(book.lookup(root!)!.name).toBe('main');
    expect(text).toContain(`#\t0x${leaf!.toString(16)}\tretainMemory+0x0\t/srv/app.js:7\n`);
    expect(text).toMatch(/sampler counts allocations since sampling began only/);
  });

  test('an empty heap is a valid header', () => {
    const b = new ProfileBuilder({
      sampleTypes: [
        ['inuse_objects', 'count'],
        ['inuse_space', 'bytes'],
      ],
      period: 524288,
    });
    expect(heapText(b.build()).split('\n')[0]).toBe('heap profile: 0: 0 [0: 0] @ heap/1048576');
  });
});

describe('goroutine?debug=1 and the empty kinds', () => {
  test("Go's count profile: total, `N @ addrs` per stack and labels, most frequent first, (idle) for a waiting loop", () => {
    const book = new AddressBook();
    const work = [frame('handle', '/srv/app.js', 3), frame('main', '/srv/app.js', 9)];
    const p = goroutineAnswer(
      [
        { thread: 'main', frames: work },
        { thread: 'worker 1', frames: [] },
        { thread: 'worker 1', frames: [] },
      ] as Parameters<typeof goroutineAnswer>[0],
      book,
    );
    const text = countText(p, 'goroutine');
    const lines = text.split('\n');
    expect(lines[0]).toBe('goroutine profile: total 3');
    expect(countStartRE.test(lines[0]!)).toBe(true);
    expect(lines[1]).toMatch(countRE);
    expect(lines[1]).toMatch(/^2 @ 0x[0-9a-f]+$/);
    expect(lines[2]).toBe('# labels: {"thread":"worker 1"}');
    expect(lines[3]).toMatch(/^#\t0x[0-9a-f]+\t\(idle\)\+0x0$/);
    const busy = lines.findIndex((l) => l.startsWith('1 @'));
    expect(callAddresses(lines[busy]!).map((a) => book.lookup(a)!.name)).toEqual(['handle', 'main']);
    expect(lines[busy + 1]).toBe('# labels: {"thread":"main"}');
  });

  test('threadcreate, block and mutex: the headers pprof recognizes', () => {
    const book = new AddressBook();
    expect(countText(emptyAnswer('threadcreate', book), 'threadcreate')).toMatch(/^threadcreate profile: total 0\n/);
    expect(contentionText(emptyAnswer('block', book), 'block')).toMatch(/^--- contention:\ncycles\/second=1000000000\n/);
    expect(contentionText(emptyAnswer('mutex', book), 'mutex')).toMatch(/^--- mutex:\ncycles\/second=1000000000\nsampling period=0\n/);
  });

  test("a target's control bytes and tabs stay escaped: no cell, line or terminal control of its making", () => {
    const book = new AddressBook();
    const evil = frame('f\tx\n1 @ 0x1\x1b]0;pwn\x07', '/srv/\t\u202eevil.js', 3);
    const p = goroutineAnswer([{ thread: 'main\n# labels: x\x1b[2J', frames: [evil] }] as Parameters<typeof goroutineAnswer>[0], book);
    const text = countText(p, 'goroutine');
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    const lines = text.split('\n');
    expect(lines.filter((l) => /^\d/.test(l))).toEqual([lines[1]]);
    expect(lines[3]!.split('\t')).toHaveLength(4);
    expect(lines[3]).toContain('f\\tx\\n1 @ 0x1\\x1b]0;pwn\\x07+0x0');
  });
});
