// Interning of fixed-width tuples of numbers in flat typed arrays: the lookups a large CPU profile
// makes hundreds of thousands of times (locations, functions) without a key string or a nested Map
// per lookup, and without an object per entry for the garbage collector to trace.

export class TupleIndex {
  private values: Float64Array<ArrayBuffer>;
  /** Open addressing: id + 1 of the tuple in a slot, 0 for a free slot. */
  private table = new Int32Array(1024);
  private count = 0;

  constructor(readonly width: number) {
    this.values = new Float64Array(256 * width);
  }

  get size(): number {
    return this.count;
  }

  /** Makes room for `n` more tuples at once (saves the rehashes of growing one at a time). */
  reserve(n: number): void {
    const want = this.count + n;
    if (want * this.width > this.values.length) {
      const bigger = new Float64Array(want * this.width);
      bigger.set(this.values);
      this.values = bigger;
    }
    if (want * 2 > this.table.length) {
      let size = this.table.length;
      while (want * 2 > size) size *= 2;
      this.rehash(size);
    }
  }

  /** The id (0, 1, 2... in order of first sight) of the tuple in t[0..width-1]; added when new. */
  intern(t: ArrayLike<number>): number {
    const w = this.width;
    const mask = this.table.length - 1;
    let h = hash(t, w) & mask;
    for (;;) {
      const slot = this.table[h]!;
      if (slot === 0) break;
      const at = (slot - 1) * w;
      let k = 0;
      for (; k < w; k++) {
        const a = this.values[at + k]!;
        const b = t[k]!;
        // Equal as text would find them: === but NaN equals NaN (0 and -0 are equal, as their text is).
        if (a !== b && (a === a || b === b)) break;
      }
      if (k === w) return slot - 1;
      h = (h + 1) & mask;
    }
    const id = this.count++;
    if ((id + 1) * w > this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    for (let k = 0; k < w; k++) this.values[id * w + k] = t[k]!;
    if (this.count * 2 > this.table.length) this.rehash(this.table.length * 2);
    else this.table[h] = id + 1;
    return id;
  }

  /** The tuple with this id (a copy). */
  get(id: number): Float64Array {
    return this.values.slice(id * this.width, (id + 1) * this.width);
  }

  private rehash(size: number): void {
    const w = this.width;
    const table = new Int32Array(size);
    const mask = table.length - 1;
    const t = new Float64Array(w);
    for (let id = 0; id < this.count; id++) {
      for (let k = 0; k < w; k++) t[k] = this.values[id * w + k]!;
      let h = hash(t, w) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = id + 1;
    }
    this.table = table;
  }
}

function hash(t: ArrayLike<number>, w: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < w; k++) {
    // The int32 part of each number (NaN and numbers above 2^31 included, rare here): equal
    // numbers hash equal; others at worst collide, never mismatch.
    h = Math.imul(h ^ (t[k]! | 0), 0x01000193);
  }
  h ^= h >>> 15;
  return h >>> 0;
}

/** Numbers for strings: 0, 1, 2... in order of first sight. */
export class StringIds {
  private readonly ids = new Map<string, number>();
  private readonly list: string[] = [];

  id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      this.ids.set(s, (i = this.list.length));
      this.list.push(s);
    }
    return i;
  }

  /** The string numbered `id`. */
  string(id: number): string {
    return this.list[id]!;
  }
}
