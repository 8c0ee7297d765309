// Builds a pprof profile: interns strings, functions and locations once, merges identical stacks,
// and gives every location a stable address from an AddressBook. Everything is kept in flat tables
// (numbers, typed arrays) and written to profile.proto straight from them (encode()); pprof-format's
// objects are made only for readers that want a Profile (build()): on large CPU profiles making
// them cost more than the conversion itself.

import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { ADDRESS_BASE, ADDRESS_STEP, AddressBook, addressAt } from './address-book.js';
import { fieldSize, numFieldSize, ProtoWriter, putField, putVarint, uvarintSize } from './proto-writer.js';
import { TupleIndex } from './interning.js';
import type { Frame } from './frame.js';

export type SampleType = readonly [type: string, unit: string];
export type Labels = Record<string, string | number>;

export interface BuilderOptions {
  sampleTypes: readonly SampleType[];
  /** Type name of the default sample type (pprof's default is the last one). */
  defaultSampleType?: string;
  periodType?: SampleType;
  period?: number;
  timeNanos?: number;
  durationNanos?: number;
  addresses?: AddressBook;
  /** Name of the one mapping every location belongs to. */
  mappingName?: string;
}

const ADDRESS_BASE_NUMBER = Number(ADDRESS_BASE);
const ADDRESS_STEP_NUMBER = Number(ADDRESS_STEP);

/** The stack id of the empty stack (see ProfileBuilder.stackId). */
export const EMPTY_STACK = 0;

/** What encode() needs to know of the samples before writing them (ProfileBuilder.sampleSizes). */
interface SampleSizes {
  /** Bytes of each sample's message. */
  sizes: Int32Array;
  /** Bytes of each sample's packed values. */
  valueSizes: Int32Array;
  /** Bytes of all sample messages with their tags and lengths. */
  total: number;
}

/** A label as numbers: key and str are string table indices, str 0 for a numeric label. */
interface LabelNums {
  key: number;
  str: number;
  num: number;
}

export class ProfileBuilder {
  /** The string table; index 0 is the empty string, as pprof requires. */
  private readonly strings: string[] = [''];
  private readonly stringIndex = new Map<string, number>([['', 0]]);
  // Functions, id = index + 1: string indices of name (also the system name) and file, start line.
  private readonly fnName: number[] = [];
  private readonly fnFile: number[] = [];
  private readonly fnStart: number[] = [];
  /** Function ids - 1 by (name, file, start line); names and files as the address book numbers them. */
  private readonly functionIndex = new TupleIndex(3);
  /** The last function looked up (its key in functionKey), 0 for none. */
  private readonly functionKey = new Float64Array(3);
  private lastFunction = 0;
  /** String table index + 1 by the address book's string id (0: not in the table yet). */
  private strOfBookId = new Int32Array(256);
  /** Location id by the location's index in the address book (0: none yet). */
  private locationByIndex = new Int32Array(1024);
  // Locations, id = index + 1: address book index, function id, line, column (one line each).
  private readonly locAddress: number[] = [];
  private readonly locFunction: number[] = [];
  private readonly locLine: number[] = [];
  private readonly locColumn: number[] = [];
  private readonly comments: number[] = [];
  private readonly addresses: AddressBook;
  private readonly width: number;

  // Stacks, interned as (leaf location, stack of its callers) pairs so that a stack is one number:
  // stack s > 0 is location stackLoc[s] called from stack stackCallers[s]; 0 is the empty stack.
  // Equal stacks get equal ids (by induction from the empty one), so samples merge by stack id.
  private stackLoc = new Int32Array(1024);
  private stackCallers = new Int32Array(1024);
  /** Bytes of the stack's location ids as packed varints (what encode() writes for a sample of it). */
  private stackBytes = new Int32Array(1024);
  private stackCount = 1;
  /** Open-addressing hash table of stack ids by (location, callers); 0 marks a free slot. */
  private stackTable = new Int32Array(2048);

  // Samples in the order they were first added; values flat, `width` per sample.
  private sampleStacks: number[] = [];
  private sampleValues = new Float64Array(1024);
  /** Each sample's label set (shared by all samples with the same labels). */
  private sampleLabels: LabelNums[][] = [];
  /** Sample index + 1 by stack id, for samples without labels. */
  private sampleOfStack = new Int32Array(1024);
  /** Sample index by stack id, per label set (its key) for labelled samples. */
  private readonly labelledSamples = new Map<string, Map<number, number>>();
  private lastLabels: Labels | undefined;
  private lastLabelKey = '';
  private lastLabelNums: LabelNums[] = [];

  constructor(private readonly opts: BuilderOptions) {
    this.addresses = opts.addresses ?? new AddressBook();
    this.width = opts.sampleTypes.length;
  }

  private str(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  /** The string table index of the address book's string `id`. */
  private strOfBook(id: number): number {
    if (id >= this.strOfBookId.length) this.strOfBookId = grow(this.strOfBookId, id + 1);
    let i = this.strOfBookId[id]! - 1;
    if (i < 0) {
      i = this.str(this.addresses.string(id));
      this.strOfBookId[id] = i + 1;
    }
    return i;
  }

  /** The id of the function (name, file: AddressBook.stringId numbers; start line), added when new. */
  private functionOf(name: number, file: number, startLine: number): number {
    // Locations come in runs of the same function (a function's lines): the last one is remembered.
    const key = this.functionKey;
    if (key[0] === name && key[1] === file && key[2] === startLine && this.lastFunction > 0) return this.lastFunction;
    key[0] = name;
    key[1] = file;
    key[2] = startLine;
    const id = this.functionIndex.intern(key) + 1;
    if (id > this.fnName.length) {
      this.fnName.push(this.strOfBook(name));
      this.fnFile.push(this.strOfBook(file));
      this.fnStart.push(startLine);
    }
    this.lastFunction = id;
    return id;
  }

  /** The id of the frame's location (one line, in its function), added when new. */
  locationId(f: Frame): number {
    const book = this.addresses;
    return this.locationOf(book.stringId(f.name), book.stringId(f.file), f.line, f.startLine, f.column);
  }

  /**
   * locationId() of the frame with these fields, name and file as the address book's stringId
   * numbers: a converter that has them already (one per distinct call frame) skips two lookups of
   * strings per location.
   */
  locationOf(name: number, file: number, line: number, startLine: number, column: number): number {
    const index = this.addresses.indexOf(file, name, line, startLine, column);
    if (index >= this.locationByIndex.length) this.locationByIndex = grow(this.locationByIndex, index + 1);
    let id = this.locationByIndex[index]!;
    if (id === 0) {
      this.locFunction.push(this.functionOf(name, file, startLine));
      this.locAddress.push(index);
      this.locLine.push(line);
      this.locColumn.push(column);
      id = this.locAddress.length;
      this.locationByIndex[index] = id;
    }
    return id;
  }

  /** The address book's number for a string (for locationOf). */
  stringId(s: string): number {
    return this.addresses.stringId(s);
  }

  /**
   * Makes room for `n` more locations at once (saves the rehashes of growing one at a time).
   * Functions grow as they come: a profile has far fewer of them than locations.
   */
  reserveLocations(n: number): void {
    this.addresses.reserve(n);
    if (this.addresses.size + n > this.locationByIndex.length) this.locationByIndex = grow(this.locationByIndex, this.addresses.size + n);
  }

  /** Makes room for `n` more stacks at once (a converter that knows how many it will intern saves the rehashes). */
  reserveStacks(n: number): void {
    const want = this.stackCount + n;
    if (want > this.stackLoc.length) {
      this.stackLoc = grow(this.stackLoc, want);
      this.stackCallers = grow(this.stackCallers, want);
      this.stackBytes = grow(this.stackBytes, want);
    }
    if (want * 2 > this.stackTable.length) {
      let size = this.stackTable.length;
      while (want * 2 > size) size *= 2;
      this.rehashStacks(size);
    }
  }

  /** Makes room for `n` more samples at once. */
  reserveSamples(n: number): void {
    this.sampleValuesFor((this.sampleStacks.length + n) * this.width);
  }

  /** Grows the sample values to hold at least `want` numbers. */
  private sampleValuesFor(want: number): void {
    if (want <= this.sampleValues.length) return;
    const bigger = new Float64Array(want);
    bigger.set(this.sampleValues);
    this.sampleValues = bigger;
  }

  /** The id of the stack whose leaf is location `location` (from locationId), called from stack `callers`. */
  stackId(location: number, callers: number): number {
    const table = this.stackTable;
    const mask = table.length - 1;
    let h = (Math.imul(location, 0x9e3779b1) ^ Math.imul(callers + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const s = table[h]!;
      if (s === 0) break;
      if (this.stackLoc[s] === location && this.stackCallers[s] === callers) return s;
      h = (h + 1) & mask;
    }
    const s = this.stackCount++;
    if (s >= this.stackLoc.length) {
      this.stackLoc = grow(this.stackLoc, s + 1);
      this.stackCallers = grow(this.stackCallers, s + 1);
      this.stackBytes = grow(this.stackBytes, s + 1);
    }
    this.stackLoc[s] = location;
    this.stackCallers[s] = callers;
    this.stackBytes[s] = uvarintSize(location) + this.stackBytes[callers]!;
    if (this.stackCount * 2 > table.length) {
      this.rehashStacks(table.length * 2);
      return s;
    }
    table[h] = s;
    return s;
  }

  private rehashStacks(size: number): void {
    const table = new Int32Array(size);
    const mask = table.length - 1;
    for (let s = 1; s < this.stackCount; s++) {
      let h = (Math.imul(this.stackLoc[s]!, 0x9e3779b1) ^ Math.imul(this.stackCallers[s]! + 0x7f4a7c15, 0x85ebca77)) >>> 0;
      h = (h ^ (h >>> 15)) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = s;
    }
    this.stackTable = table;
  }

  /** Adds values for a stack given leaf first; identical stacks with identical labels are merged. */
  addSample(stack: readonly Frame[], values: readonly number[], labels?: Labels): void {
    let s = EMPTY_STACK;
    for (let i = stack.length - 1; i >= 0; i--) s = this.stackId(this.locationId(stack[i]!), s);
    this.addSampleStack(s, values, labels);
  }

  /** Adds values for a stack of location ids (from locationId), leaf first; ids and values are copied. */
  addSampleIds(ids: readonly number[], values: readonly number[], labels?: Labels): void {
    let s = EMPTY_STACK;
    for (let i = ids.length - 1; i >= 0; i--) s = this.stackId(ids[i]!, s);
    this.addSampleStack(s, values, labels);
  }

  /** Adds values for a stack id (from stackId); identical stacks with identical labels are merged. */
  addSampleStack(stack: number, values: readonly number[], labels?: Labels): void {
    const w = this.width;
    if (values.length !== w) throw new Error(`sample has ${values.length} values, profile has ${w} types`);
    if (stack < 0 || stack >= this.stackCount) throw new Error(`unknown stack id ${stack}`);
    let index: number;
    if (labels !== this.lastLabels) this.setLabels(labels);
    if (this.lastLabelKey === '') {
      if (stack >= this.sampleOfStack.length) this.sampleOfStack = grow(this.sampleOfStack, this.stackLoc.length);
      index = this.sampleOfStack[stack]! - 1;
      if (index < 0) {
        index = this.newSample(stack);
        this.sampleOfStack[stack] = index + 1;
      }
    } else {
      let byStack = this.labelledSamples.get(this.lastLabelKey);
      if (!byStack) this.labelledSamples.set(this.lastLabelKey, (byStack = new Map()));
      const found = byStack.get(stack);
      if (found === undefined) {
        index = this.newSample(stack);
        byStack.set(stack, index);
      } else {
        index = found;
      }
    }
    const v = this.sampleValues;
    const at = index * w;
    for (let i = 0; i < w; i++) v[at + i] += values[i]!;
  }

  private setLabels(labels: Labels | undefined): void {
    const entries = labels ? Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
    this.lastLabels = labels;
    this.lastLabelKey = entries.map(([k, v]) => `${k}=${typeof v}:${v}`).join('\u0000');
    this.lastLabelNums = entries.map(([k, v]) =>
      typeof v === 'number' ? { key: this.str(k), str: 0, num: v } : { key: this.str(k), str: this.str(v), num: 0 },
    );
  }

  private newSample(stack: number): number {
    const index = this.sampleStacks.length;
    this.sampleStacks.push(stack);
    this.sampleLabels.push(this.lastLabelNums);
    if ((index + 1) * this.width > this.sampleValues.length) this.sampleValuesFor(Math.max(this.sampleValues.length * 2, (index + 1) * this.width));
    return index;
  }

  get sampleCount(): number {
    return this.sampleStacks.length;
  }

  get locationCount(): number {
    return this.locAddress.length;
  }

  addComment(text: string): void {
    this.comments.push(this.str(text));
  }

  /** String indices of the header (sample types, default type, period type, mapping file), in the order pprof-format's build took them. */
  private header() {
    const o = this.opts;
    const sampleType = o.sampleTypes.map(([t, u]) => ({ type: this.str(t), unit: this.str(u) }));
    const defaultSampleType = o.defaultSampleType ? this.str(o.defaultSampleType) : 0;
    const periodType = o.periodType ? { type: this.str(o.periodType[0]), unit: this.str(o.periodType[1]) } : undefined;
    const mappingFile = this.str(o.mappingName ?? 'node');
    return { sampleType, defaultSampleType, periodType, mappingFile };
  }

  /** The profile as pprof-format objects, for readers of a Profile (--top, collapsed, serve's deltas). */
  build(): Profile {
    const o = this.opts;
    const h = this.header();
    // Every location carries function, file and line, so pprof must not try to symbolize them.
    const mapping = new Mapping({
      id: 1,
      memoryStart: 0,
      memoryLimit: this.addresses.limit,
      filename: h.mappingFile,
      hasFunctions: true,
      hasFilenames: true,
      hasLineNumbers: true,
      hasInlineFrames: true,
    });
    const w = this.width;
    const samples: Sample[] = new Array(this.sampleStacks.length);
    for (let i = 0; i < samples.length; i++) {
      const locationId = this.stackIds(this.sampleStacks[i]!);
      const value: number[] = new Array(w);
      for (let k = 0; k < w; k++) value[k] = this.sampleValues[i * w + k]!;
      const label = this.sampleLabels[i]!.map((l) => new Label(l.str ? { key: l.key, str: l.str } : { key: l.key, num: l.num }));
      samples[i] = new Sample({ locationId, value, label });
    }
    const locations = this.locAddress.map(
      (index, i) =>
        new Location({
          id: i + 1,
          mappingId: 1,
          address: addressAt(index),
          line: [new Line({ functionId: this.locFunction[i]!, line: this.locLine[i]!, column: this.locColumn[i]! })],
        }),
    );
    const functions = this.fnName.map(
      (name, i) => new PFunction({ id: i + 1, name, systemName: name, filename: this.fnFile[i]!, startLine: this.fnStart[i]! }),
    );
    const stringTable = new StringTable();
    for (let i = 1; i < this.strings.length; i++) stringTable.dedup(this.strings[i]!);
    return new Profile({
      sampleType: h.sampleType.map((t) => new ValueType(t)),
      sample: samples,
      mapping: [mapping],
      location: locations,
      function: functions,
      stringTable,
      timeNanos: o.timeNanos ?? 0,
      durationNanos: o.durationNanos ?? 0,
      periodType: h.periodType && new ValueType(h.periodType),
      period: o.period ?? 0,
      comment: this.comments.slice(),
      defaultSampleType: h.defaultSampleType,
    });
  }

  /** The location ids of a stack, leaf first. */
  private stackIds(stack: number): number[] {
    const callers = this.stackCallers;
    let depth = 0;
    for (let s = stack; s !== EMPTY_STACK; s = callers[s]!) depth++;
    const ids: number[] = new Array(depth);
    for (let s = stack, k = 0; s !== EMPTY_STACK; s = callers[s]!) ids[k++] = this.stackLoc[s]!;
    return ids;
  }

  /**
   * profile.proto bytes (not compressed), written straight from the tables: the same bytes as
   * this.build().encode() (pprof-format), field for field (test/unit/cpu-profile-golden.test.ts).
   */
  encode(): Uint8Array {
    const o = this.opts;
    const h = this.header();
    const nLocations = this.locAddress.length;
    // Room for all of it at once (locations, functions and strings at their largest; the buffer is
    // not written before it is used, so what is not used costs nothing): on a large profile,
    // growing it would copy tens of megabytes.
    const samples = this.sampleSizes();
    let room = 1024 + samples.total + 64 * (nLocations + this.fnName.length);
    for (let i = 0; i < this.strings.length; i++) room += 6 + 3 * this.strings[i]!.length;
    const out = new ProtoWriter(room);

    for (const t of h.sampleType)
      out.message(10, out.fieldSize(t.type) + out.fieldSize(t.unit), () => {
        out.field(8, t.type);
        out.field(16, t.unit);
      });
    this.encodeSamples(out, samples);
    const limit = this.addresses.limit;
    out.message(26, out.fieldSize(1) + out.fieldSize(limit) + out.fieldSize(h.mappingFile) + 4 * out.fieldSize(true), () => {
      out.field(8, 1); // id
      out.field(24, limit); // memory_limit (memory_start is 0)
      out.field(40, h.mappingFile);
      out.field(56, true);
      out.field(64, true);
      out.field(72, true);
      out.field(80, true);
    });
    this.encodeLocations(out);
    this.encodeFunctions(out);
    out.strings(50, this.strings);
    out.room(128);
    out.field(72, o.timeNanos ?? 0);
    out.field(80, o.durationNanos ?? 0);
    const pt = h.periodType;
    if (pt)
      out.message(90, out.fieldSize(pt.type) + out.fieldSize(pt.unit), () => {
        out.field(8, pt.type);
        out.field(16, pt.unit);
      });
    out.field(96, o.period ?? 0);
    out.packed(106, this.comments);
    out.field(112, h.defaultSampleType);
    return out.bytes();
  }

  // The sections below run once per CLI run, mostly before the JIT has compiled them: each is one
  // loop of its own (compiled on its own, and not thrown away when the next section starts),
  // writes varints with putVarint into a buffer reserved for the whole section, and calls nothing
  // it does not need to.

  /** The bytes of each sample's message (sizes), of its values (valueSizes), and of all of them with their tags (total). */
  private sampleSizes(): SampleSizes {
    const n = this.sampleStacks.length;
    const w = this.width;
    const values = this.sampleValues;
    const stacks = this.sampleStacks;
    const stackBytes = this.stackBytes;
    const sizes = new Int32Array(n);
    const valueSizes = new Int32Array(n);
    let total = 16;
    for (let i = 0; i < n; i++) {
      const idsSize = stackBytes[stacks[i]!]!;
      let vs = 0;
      for (let k = i * w; k < (i + 1) * w; k++) vs += uvarintSize(values[k]!);
      let size = (idsSize ? 1 + uvarintSize(idsSize) + idsSize : 0) + (vs ? 1 + uvarintSize(vs) + vs : 0);
      const labels = this.sampleLabels[i]!;
      for (let k = 0; k < labels.length; k++) {
        const l = labels[k]!;
        const ls = fieldSize(l.key) + fieldSize(l.str) + fieldSize(l.num);
        size += 1 + uvarintSize(ls) + ls;
      }
      sizes[i] = size;
      valueSizes[i] = vs;
      total += 1 + uvarintSize(size) + size;
    }
    return { sizes, valueSizes, total };
  }

  /** The samples: location ids leaf first, values, labels. */
  private encodeSamples(out: ProtoWriter, { sizes, valueSizes, total }: SampleSizes): void {
    const n = this.sampleStacks.length;
    const w = this.width;
    const values = this.sampleValues;
    const stacks = this.sampleStacks;
    const stackBytes = this.stackBytes;
    const loc = this.stackLoc;
    const callers = this.stackCallers;
    out.room(total);
    let b = out.buf;
    let p = out.pos;
    // Where each stack's location ids were last written: a stack shares its callers with many
    // others (samples come in the profile's node order, siblings side by side), so after the
    // first, a sample writes the ids its stack does not share and copies the rest.
    const at = new Int32Array(this.stackCount).fill(-1);
    for (let i = 0; i < n; i++) {
      const stack = stacks[i]!;
      const idsSize = stackBytes[stack]!;
      b[p++] = 18; // sample = 2
      p = putVarint(b, p, sizes[i]!);
      if (idsSize) {
        b[p++] = 10; // location_id = 1
        p = putVarint(b, p, idsSize);
        let s = stack;
        for (; s !== EMPTY_STACK && at[s]! < 0; s = callers[s]!) {
          at[s] = p;
          p = putVarint(b, p, loc[s]!);
        }
        if (s !== EMPTY_STACK) {
          const from = at[s]!;
          const len = stackBytes[s]!;
          // copyWithin (memmove): before the JIT has compiled this loop, a byte loop costs more.
          if (len > 4) b.copyWithin(p, from, from + len);
          else for (let k = 0; k < len; k++) b[p + k] = b[from + k]!;
          p += len;
        }
      }
      const vs = valueSizes[i]!;
      if (vs) {
        b[p++] = 18; // value = 2
        p = putVarint(b, p, vs);
        for (let k = i * w; k < (i + 1) * w; k++) p = putVarint(b, p, values[k]!);
      }
      const labels = this.sampleLabels[i]!;
      if (labels.length > 0) {
        out.pos = p;
        for (let k = 0; k < labels.length; k++) {
          const l = labels[k]!;
          out.head(26, out.fieldSize(l.key) + out.fieldSize(l.str) + out.fieldSize(l.num)); // label = 3
          out.field(8, l.key);
          out.field(16, l.str);
          out.field(24, l.num);
        }
        p = out.pos;
        b = out.buf; // reserved above; in case head() grew it all the same
      }
    }
    out.pos = p;
  }

  /** The locations: id, mapping 1, address, one line (function, line, column); zeros left out. */
  private encodeLocations(out: ProtoWriter): void {
    const n = this.locAddress.length;
    const fns = this.locFunction;
    const lines = this.locLine;
    const columns = this.locColumn;
    const addressIndex = this.locAddress;
    // Sizes are at most 11 (id) + 2 + 10 (address) + 2 + 3 * 11 (line): reserved at 64 each.
    out.room(64 * n);
    const b = out.buf;
    let p = out.pos;
    for (let i = 0; i < n; i++) {
      const id = i + 1;
      // addressAt() as a number: exact, and the varint of the same value.
      const address = ADDRESS_BASE_NUMBER + addressIndex[i]! * ADDRESS_STEP_NUMBER;
      const fn = fns[i]!;
      const line = lines[i]!;
      const column = columns[i]!;
      const lineSize = numFieldSize(fn) + numFieldSize(line) + numFieldSize(column);
      b[p++] = 34; // location = 4
      p = putVarint(b, p, numFieldSize(id) + 2 + numFieldSize(address) + 1 + uvarintSize(lineSize) + lineSize);
      p = putField(b, p, 8, id);
      b[p++] = 16; // mapping_id = 2
      b[p++] = 1;
      p = putField(b, p, 24, address);
      b[p++] = 34; // line = 4
      p = putVarint(b, p, lineSize);
      p = putField(b, p, 8, fn); // function_id = 1
      p = putField(b, p, 16, line); // line = 2
      p = putField(b, p, 24, column); // column = 3
    }
    out.pos = p;
  }

  /** The functions: id, name, system name (the same), file, start line; zeros left out. */
  private encodeFunctions(out: ProtoWriter): void {
    const n = this.fnName.length;
    const names = this.fnName;
    const files = this.fnFile;
    const starts = this.fnStart;
    out.room(64 * n);
    const b = out.buf;
    let p = out.pos;
    for (let i = 0; i < n; i++) {
      const id = i + 1;
      const name = names[i]!;
      const file = files[i]!;
      const start = starts[i]!;
      b[p++] = 42; // function = 5
      p = putVarint(b, p, numFieldSize(id) + 2 * numFieldSize(name) + numFieldSize(file) + numFieldSize(start));
      p = putField(b, p, 8, id);
      p = putField(b, p, 16, name);
      p = putField(b, p, 24, name); // system_name
      p = putField(b, p, 32, file); // filename
      p = putField(b, p, 40, start); // start_line
    }
    out.pos = p;
  }
}

function grow(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(a.length * 2, min));
  b.set(a);
  return b;
}
