// TupleIndex and StringIds against the plain way of doing the same: a Map keyed by the tuple's text.
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { AddressBook } from '../../src/pprof/address-book.js';
import { StringIds, TupleIndex } from '../../src/pprof/interning.js';

const awkward = fc.constantFrom(0, -0, 1, -1, NaN, 2 ** 31, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53 - 1, 0.5, 1e21, Infinity, -Infinity);
const number = fc.oneof(fc.integer({ min: -3, max: 40 }), awkward);

describe('TupleIndex', () => {
  test('equal tuples (as text) get equal ids, in order of first sight, through many rehashes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(number, number, number), { maxLength: 3000 }), (tuples) => {
        const index = new TupleIndex(3);
        const byText = new Map<string, number>();
        for (const t of tuples) {
          const text = t.map(String).join(',');
          const want = byText.get(text) ?? byText.size;
          byText.set(text, want);
          expect(index.intern(t)).toBe(want);
        }
        expect(index.size).toBe(byText.size);
      }),
      { numRuns: 60 },
    );
  });

  test('reads only the first `width` entries of what it is given', () => {
    const index = new TupleIndex(2);
    expect(index.intern([1, 2, 3])).toBe(0);
    expect(index.intern([1, 2, 4])).toBe(0);
    expect(index.intern(new Float64Array([1, 3]))).toBe(1);
  });
});

describe('StringIds', () => {
  test('numbers strings in order of first sight', () => {
    const ids = new StringIds();
    expect(['a', 'b', 'a', '', 'c', ''].map((s) => ids.id(s))).toEqual([0, 1, 0, 2, 3, 2]);
  });
});

describe('AddressBook', () => {
  test('one address per distinct frame, the same address for an equal frame, and lookup gives the frame back', () => {
    const book = new AddressBook();
    const f = (name: string, file: string, line: number, column = 0, startLine = 1) => ({ name, file, line, column, startLine });
    const frames = [f('a', 'x.js', 1), f('a', 'x.js', 2), f('a', 'y.js', 1), f('b', 'x.js', 1), f('a', 'x.js', 1, 5), f('a', 'x.js', 1, 0, 7)];
    const addresses = frames.map((x) => book.address(x));
    expect(new Set(addresses).size).toBe(frames.length);
    expect(frames.map((x) => book.address({ ...x }))).toEqual(addresses);
    expect(addresses.map((a) => book.lookup(a))).toEqual(frames);
    expect(book.size).toBe(frames.length);
  });
});
