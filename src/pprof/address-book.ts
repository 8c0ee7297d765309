// Stable synthetic addresses for locations: one book per process that hands out profiles (a serve,
// an in-process facade), so the same frame has the same address in every profile and /symbol can
// resolve it. Scrapers key their deltas on these addresses.

import type { Frame } from './frame.js';
import { StringIds, TupleIndex } from './interning.js';

export const ADDRESS_BASE = 0x400000n;
export const ADDRESS_STEP = 0x10n;

export function addressAt(index: number): bigint {
  return ADDRESS_BASE + BigInt(index) * ADDRESS_STEP;
}

export class AddressBook {
  // Frames as tuples of numbers (file, name, line, start line, column; file and name numbered by
  // `strings`) in a TupleIndex: equal when the text of each would be equal, found with no key
  // string to build and kept with no object per frame (a large CPU profile has hundreds of
  // thousands of locations). The string ids are the book's, stable for its life: the builder keys
  // its functions by them too.
  private readonly strings = new StringIds();
  private readonly tuples = new TupleIndex(5);
  private readonly key = new Float64Array(5);

  /** The book's number for a string (a file or a function name). */
  stringId(s: string): number {
    return this.strings.id(s);
  }

  /** The string of a number from stringId. */
  string(id: number): string {
    return this.strings.string(id);
  }

  address(frame: Frame): bigint {
    return addressAt(this.index(frame));
  }

  /** The frame's position in this book (its address is addressAt(index)), handing out the next one when new. */
  index(frame: Frame): number {
    return this.indexOf(this.strings.id(frame.file), this.strings.id(frame.name), frame.line, frame.startLine, frame.column);
  }

  /** index() of the frame with these fields, file and name as stringId numbers. */
  indexOf(file: number, name: number, line: number, startLine: number, column: number): number {
    const k = this.key;
    k[0] = file;
    k[1] = name;
    k[2] = line;
    k[3] = startLine;
    k[4] = column;
    return this.tuples.intern(k);
  }

  /** Makes room for `n` more frames at once. */
  reserve(n: number): void {
    this.tuples.reserve(n);
  }

  /** The frame at an address this book handed out (any address inside its step resolves to it). */
  lookup(address: bigint): Frame | undefined {
    if (address < ADDRESS_BASE) return undefined;
    const index = Number((address - ADDRESS_BASE) / ADDRESS_STEP);
    if (index >= this.tuples.size) return undefined;
    const t = this.tuples.get(index);
    return { name: this.strings.string(t[1]!), file: this.strings.string(t[0]!), line: t[2]!, column: t[4]!, startLine: t[3]! };
  }

  /** One past the highest address handed out so far. */
  get limit(): bigint {
    return addressAt(this.tuples.size);
  }

  get size(): number {
    return this.tuples.size;
  }
}
