// profile.proto's few wire shapes (varints, packed int64s, length-delimited fields, a string table)
// for ProfileBuilder.encode(): the same bytes as pprof-format's Profile.encode() in one pass, without
// its per-number allocations (bench/RESULTS.md, P2). Everything else encodes through pprof-format.

type Num = number | bigint;

const TWO_32 = 2 ** 32;

/** Bytes of the varint of an int64 (negative numbers take 10, as protobuf's int64 does). */
function varintSize(v: Num): number {
  if (typeof v === 'bigint' && v >= 0n && v <= 0x7fffffffn) v = Number(v);
  if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff) {
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
  }
  const [hi, lo] = split(v);
  if (hi === 0) return lo < 0x80 ? 1 : lo < 0x4000 ? 2 : lo < 0x200000 ? 3 : lo < 0x10000000 ? 4 : 5;
  let n = 5;
  for (let h = hi >>> 3; h !== 0; h >>>= 7) n++;
  return n;
}

/** High and low 32 bits of an int64, two's complement, as pprof-format computes them. */
function split(v: Num): [number, number] {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    return [Number(u >> 32n), Number(u & 0xffffffffn)];
  }
  const neg = v < 0;
  const a = neg ? -v : v;
  let lo = (a >>> 0) % TWO_32;
  let hi = (a / TWO_32) >>> 0;
  if (neg) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 0xffffffff) {
      lo = 0;
      if (++hi > 0xffffffff) hi = 0;
    }
  }
  return [hi, lo];
}

/**
 * Writes the varint of `v` (an int64 as a number) at b[p] and returns the position after it. A plain
 * function over a byte array, cheap from its first call, for the loops that write most of a
 * profile (ids, counts, nanoseconds, sizes: non-negative integers, the fast path).
 */
export function putVarint(b: Uint8Array, p: number, v: number): number {
  if (v >= 0 && v <= 0x7fffffff) {
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    return p;
  }
  const [hi, lo] = split(v);
  return putSplit(b, p, hi, lo);
}

/** Writes the varint of the uint64 with these high and low 32 bits. */
function putSplit(b: Uint8Array, p: number, hi: number, lo: number): number {
  while (hi) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  b[p++] = lo;
  return p;
}

/** Writes a varint field (tag byte, then the varint of `v`) at b[p], or nothing when `v` is 0 (proto3 leaves it out); returns the position after it. */
export function putField(b: Uint8Array, p: number, tag: number, v: number): number {
  if (v === 0) return p;
  b[p] = tag;
  return putVarint(b, p + 1, v);
}

/** Bytes putField writes for `v`. */
export function numFieldSize(v: number): number {
  return v === 0 ? 0 : 1 + uvarintSize(v);
}

/** Bytes of putVarint's varint of `v`. */
export function uvarintSize(v: number): number {
  if (v >= 0 && v < 0x10000000) return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
  return varintSize(v);
}

/** A protobuf writer for the few shapes profile.proto needs; it grows its buffer as it goes. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, capacity));
  }

  /** Bytes of a varint field as field() writes it (none for zero). */
  fieldSize(v: Num | boolean | undefined): number {
    return fieldSize(v);
  }

  /** What was written so far. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Makes room for n more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  varint(v: Num): void {
    if (typeof v === 'bigint' && v >= 0n && v <= 0x7fffffffn) v = Number(v); // addresses
    if (typeof v === 'number') {
      this.pos = putVarint(this.buf, this.pos, v);
    } else {
      const [hi, lo] = split(v);
      this.pos = putSplit(this.buf, this.pos, hi, lo);
    }
  }

  /** A varint field, left out when zero (proto3 default). */
  field(tag: number, v: Num | boolean | undefined): void {
    if (!v) return;
    this.buf[this.pos++] = tag;
    this.varint(v === true ? 1 : (v as Num));
  }

  /** A packed repeated int64 field, left out when empty. */
  packed(tag: number, values: readonly Num[]): void {
    const n = values.length;
    if (n === 0) return;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      size += typeof v === 'number' && v >= 0 && v < 0x80 ? 1 : varintSize(v);
    }
    this.room(11 + size);
    this.buf[this.pos++] = tag;
    this.varint(size);
    for (let i = 0; i < n; i++) this.varint(values[i]!);
  }

  /** A length-delimited field: `size` bytes written by `body`. */
  message(tag: number, size: number, body: () => void): void {
    this.head(tag, size);
    body();
  }

  /** The tag and length of a length-delimited field whose `size` bytes the caller writes next. */
  head(tag: number, size: number): void {
    this.room(11 + size);
    this.buf[this.pos++] = tag;
    this.varint(size);
  }

  string(tag: number, s: string): void {
    this.room(11 + s.length * 3);
    this.buf[this.pos++] = tag;
    let ascii = s.length < 128;
    if (ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      const b = this.buf;
      let p = this.pos;
      b[p++] = s.length;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const size = Buffer.byteLength(s, 'utf8');
    this.varint(size);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /**
   * string() of each of `list` in order, the same bytes. A string table is written once per
   * conversion, before the JIT has compiled anything: string() reads every character in the
   * interpreter, milliseconds cold on a large string table (bench/RESULTS.md).
   * Here the ASCII check is one regular expression over all of them, and when it passes, each
   * string's tag and length go into a header of a few characters, and the headers and strings
   * are written by one latin1 write (a character per byte, exact for both): a few native calls
   * per string instead of a loop over its characters.
   */
  strings(tag: number, list: readonly string[]): void {
    const all = list.join('');
    if (NON_ASCII.test(all)) {
      for (let i = 0; i < list.length; i++) this.string(tag, list[i]!);
      return;
    }
    const parts = new Array<string>(2 * list.length);
    for (let i = 0; i < list.length; i++) {
      const n = list[i]!.length;
      parts[2 * i] =
        n < 0x80
          ? String.fromCharCode(tag, n)
          : n < 0x4000
            ? String.fromCharCode(tag, (n & 0x7f) | 0x80, n >>> 7)
            : String.fromCharCode(tag, ...varintBytes(n));
      parts[2 * i + 1] = list[i]!;
    }
    const text = parts.join('');
    this.room(text.length);
    this.pos += this.buf.write(text, this.pos, 'latin1');
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The bytes of putVarint's varint of `v` (a non-negative integer). */
function varintBytes(v: number): number[] {
  const b = new Uint8Array(10);
  return Array.from(b.subarray(0, putVarint(b, 0, v)));
}

/** Bytes of a varint field (tag and value; none for zero, as proto3 leaves it out). */
export const fieldSize = (v: Num | boolean | undefined): number => (v ? 1 + varintSize(v === true ? 1 : (v as Num)) : 0);
