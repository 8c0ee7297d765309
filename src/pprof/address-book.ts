// Stable synthetic addresses for locations: one book per process that hands out profiles (a serve,
// an in-process facade), so the same frame has the same address in every profile and /symbol can
// resolve it. Scrapers key their deltas on these addresses.

import type { Frame } from './frame.js';

export const ADDRESS_BASE = 0x400000n;
export const ADDRESS_STEP = 0x10n;

export function locationKey(f: Frame): string {
  return `${f.name}\u0000${f.file}\u0000${f.startLine}\u0000${f.line}\u0000${f.column}`;
}

/** Equal as locationKey would find them (the same text). */
const same = (a: number, b: number) => a === b || String(a) === String(b);

export function addressAt(index: number): bigint {
  return ADDRESS_BASE + BigInt(index) * ADDRESS_STEP;
}

export class AddressBook {
  // Indices by file, name and line, then a short list to scan for start line and column: lookups
  // with no key string to build (a large CPU profile asks for hundreds of thousands of locations).
  private readonly byFile = new Map<string, Map<string, Map<number, number[]>>>();
  private readonly frames: Frame[] = [];

  address(frame: Frame): bigint {
    return addressAt(this.index(frame));
  }

  /** The frame's position in this book (its address is addressAt(index)), handing out the next one when new. */
  index(frame: Frame): number {
    let byName = this.byFile.get(frame.file);
    if (!byName) this.byFile.set(frame.file, (byName = new Map()));
    let byLine = byName.get(frame.name);
    if (!byLine) byName.set(frame.name, (byLine = new Map()));
    let list = byLine.get(frame.line);
    if (!list) byLine.set(frame.line, (list = []));
    for (let k = 0; k < list.length; k++) {
      const f = this.frames[list[k]!]!;
      if (same(f.startLine, frame.startLine) && same(f.column, frame.column)) return list[k]!;
    }
    const i = this.frames.length;
    this.frames.push(frame);
    list.push(i);
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
