// Stable synthetic addresses for locations: one book per process that hands out profiles (a serve,
// an in-process facade), so the same frame has the same address in every profile and /symbol can
// resolve it. Scrapers key their deltas on these addresses.

import type { Frame } from './frame.js';
import { StringIds, TupleIndex } from './tuples.js';

export const ADDRESS_BASE = 0x400000n;
export const ADDRESS_STEP = 0x10n;

export function addressAt(index: number): bigint {
  return ADDRESS_BASE + BigInt(index) * ADDRESS_STEP;
}

export class AddressBook {
  // Frames by (file, name, line, start line, column) in a TupleIndex: equal when the text of each
  // would be equal, found with no key string to build (a large CPU profile asks for hundreds of
  // thousands of locations).
  private readonly strings = new StringIds();
  private readonly tuples = new TupleIndex(5);
  private readonly key = new Float64Array(5);
  private readonly frames: Frame[] = [];

  address(frame: Frame): bigint {
    return addressAt(this.index(frame));
  }

  /** The frame's position in this book (its address is addressAt(index)), handing out the next one when new. */
  index(frame: Frame): number {
    const k = this.key;
    k[0] = this.strings.id(frame.file);
    k[1] = this.strings.id(frame.name);
    k[2] = frame.line;
    k[3] = frame.startLine;
    k[4] = frame.column;
    const i = this.tuples.intern(k);
    if (i === this.frames.length) this.frames.push(frame);
    return i;
  }
  /** The frame at an address this book handed out (any address inside its step resolves to it). */
  lookup(address: bigint): Frame | undefined {
    if (address < ADDRESS_BASE) return undefined;
    return this.frames[Number((address - ADDRESS_BASE) / ADDRESS_STEP)];
  }

  /** One past the highest address handed out so far. */
  get limit(): bigint {
    return ADDRESS_BASE + BigInt(this.frames.length) * ADDRESS_STEP;
  }

  get size(): number {
    return this.frames.length;
  }
}
