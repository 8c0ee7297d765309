// Stable synthetic addresses for locations: one book per process that hands out profiles (a serve,
// an in-process facade), so the same frame has the same address in every profile and /symbol can
// resolve it. Scrapers key their deltas on these addresses.

import type { Frame } from './frame.js';

export const ADDRESS_BASE = 0x400000n;
export const ADDRESS_STEP = 0x10n;

export function locationKey(f: Frame): string {
  return `${f.name}\u0000${f.file}\u0000${f.startLine}\u0000${f.line}\u0000${f.column}`;
}

export class AddressBook {
  private readonly byKey = new Map<string, bigint>();
  private readonly frames: Frame[] = [];

  address(frame: Frame): bigint {
    const key = locationKey(frame);
    let addr = this.byKey.get(key);
    if (addr === undefined) {
      addr = ADDRESS_BASE + BigInt(this.frames.length) * ADDRESS_STEP;
      this.byKey.set(key, addr);
      this.frames.push(frame);
    }
    return addr;
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
