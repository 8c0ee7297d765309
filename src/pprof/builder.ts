// Builds a pprof Profile: interns strings, functions and locations once, merges identical stacks,
// and gives every location a stable address from an AddressBook.

import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { AddressBook, addressAt } from './address-book.js';
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

/** The stack id of the empty stack (see ProfileBuilder.stackId). */
export const EMPTY_STACK = 0;

export class ProfileBuilder {
  private readonly strings = new StringTable();
  private readonly stringIndex = new Map<string, number>();
  private readonly functions: PFunction[] = [];
  private readonly functionsByFile = new Map<string, Map<string, Map<number | string, PFunction>>>();
  private lastFunction: { name: string; file: string; startLine: number; id: number } | undefined;
  /** Location id by the location's index in the address book. */
  private readonly locationByIndex = new Map<number, number>();
  private readonly locations: Location[] = [];
  private readonly comments: number[] = [];
  private readonly addresses: AddressBook;
  private readonly width: number;

  // Stacks, interned as (leaf location, stack of its callers) pairs so that a stack is one number:
  // stack s > 0 is location stackLoc[s] called from stack stackCallers[s]; 0 is the empty stack.
  // Equal stacks get equal ids (by induction from the empty one), so samples merge by stack id.
  private stackLoc = new Int32Array(1024);
  private stackCallers = new Int32Array(1024);
  private stackCount = 1;
  /** Open-addressing hash table of stack ids by (location, callers); 0 marks a free slot. */
  private stackTable = new Int32Array(2048);

  // Samples in the order they were first added; values flat, `width` per sample.
  private sampleStacks: number[] = [];
  private sampleValues = new Float64Array(1024);
  private sampleLabels: Label[][] = [];
  /** Sample index + 1 by stack id, for samples without labels. */
  private sampleOfStack = new Int32Array(1024);
  /** Sample index by stack id, per label set (its key) for labelled samples. */
  private readonly labelledSamples = new Map<string, Map<number, number>>();
  private lastLabels: Labels | undefined;
  private lastLabelKey = '';
  private lastLabelObjects: Label[] = [];

  constructor(private readonly opts: BuilderOptions) {
    this.addresses = opts.addresses ?? new AddressBook();
    this.width = opts.sampleTypes.length;
  }

  private str(s: string): number {
    // StringTable.dedup is slow for strings it has (private fields behind WeakMaps): a Map in front.
    let i = this.stringIndex.get(s);
    if (i === undefined) this.stringIndex.set(s, (i = this.strings.dedup(s)));
    return i;
  }

  private functionId(f: Frame): number {
    // Locations come in runs of the same function (a function's lines): the last one is remembered.
    const last = this.lastFunction;
    if (last && last.name === f.name && last.file === f.file && last.startLine === f.startLine) return last.id;
    let byName = this.functionsByFile.get(f.file);
    if (!byName) this.functionsByFile.set(f.file, (byName = new Map()));
    let byStart = byName.get(f.name);
    if (!byStart) byName.set(f.name, (byStart = new Map()));
    // Keyed by the start line's text, as a `name file startLine` key string would be.
    const start = typeof f.startLine === 'number' && f.startLine === f.startLine && !Object.is(f.startLine, -0) ? f.startLine : String(f.startLine);
    let fn = byStart.get(start);
    if (!fn) {
      fn = new PFunction({
        id: this.functions.length + 1,
        name: this.str(f.name),
        systemName: this.str(f.name),
        filename: this.str(f.file),
        startLine: f.startLine,
      });
      this.functions.push(fn);
      byStart.set(start, fn);
    }
    this.lastFunction = { name: f.name, file: f.file, startLine: f.startLine, id: fn.id as number };
    return fn.id as number;
  }

  locationId(f: Frame): number {
    const index = this.addresses.index(f);
    let id = this.locationByIndex.get(index);
    if (id === undefined) {
      id = this.locations.length + 1;
      this.locations.push(
        new Location({
          id,
          mappingId: 1,
          address: addressAt(index),
          line: [new Line({ functionId: this.functionId(f), line: f.line, column: f.column })],
        }),
      );
      this.locationByIndex.set(index, id);
    }
    return id;
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
    }
    this.stackLoc[s] = location;
    this.stackCallers[s] = callers;
    if (this.stackCount * 2 > table.length) {
      this.rehashStacks();
      return s;
    }
    table[h] = s;
    return s;
  }

  private rehashStacks(): void {
    const table = new Int32Array(this.stackTable.length * 2);
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
    this.lastLabelObjects = entries.map(([k, v]) =>
      typeof v === 'number' ? new Label({ key: this.str(k), num: v }) : new Label({ key: this.str(k), str: this.str(v) }),
    );
  }

  private newSample(stack: number): number {
    const index = this.sampleStacks.length;
    this.sampleStacks.push(stack);
    this.sampleLabels.push(this.lastLabelObjects);
    if ((index + 1) * this.width > this.sampleValues.length) {
      const bigger = new Float64Array(Math.max(this.sampleValues.length * 2, (index + 1) * this.width));
      bigger.set(this.sampleValues);
      this.sampleValues = bigger;
    }
    return index;
  }

  addComment(text: string): void {
    this.comments.push(this.str(text));
  }

  build(): Profile {
    const o = this.opts;
    const sampleType = o.sampleTypes.map(([t, u]) => new ValueType({ type: this.str(t), unit: this.str(u) }));
    const defaultSampleType = o.defaultSampleType ? this.str(o.defaultSampleType) : 0;
    const periodType = o.periodType ? new ValueType({ type: this.str(o.periodType[0]), unit: this.str(o.periodType[1]) }) : undefined;
    // Every location carries function, file and line, so pprof must not try to symbolize them.
    const mapping = new Mapping({
      id: 1,
      memoryStart: 0,
      memoryLimit: this.addresses.limit,
      filename: this.str(o.mappingName ?? 'node'),
      hasFunctions: true,
      hasFilenames: true,
      hasLineNumbers: true,
      hasInlineFrames: true,
    });
    const w = this.width;
    const samples: Sample[] = new Array(this.sampleStacks.length);
    const loc = this.stackLoc;
    const callers = this.stackCallers;
    for (let i = 0; i < samples.length; i++) {
      const stack = this.sampleStacks[i]!;
      let depth = 0;
      for (let s = stack; s !== EMPTY_STACK; s = callers[s]!) depth++;
      const locationId: number[] = new Array(depth);
      for (let s = stack, k = 0; s !== EMPTY_STACK; s = callers[s]!) locationId[k++] = loc[s]!;
      const value: number[] = new Array(w);
      for (let k = 0; k < w; k++) value[k] = this.sampleValues[i * w + k]!;
      // (Sample copies the label list.)
      samples[i] = new Sample({ locationId, value, label: this.sampleLabels[i] });
    }
    return new Profile({
      sampleType,
      sample: samples,
      mapping: [mapping],
      location: this.locations.slice(),
      function: this.functions.slice(),
      stringTable: this.strings,
      timeNanos: o.timeNanos ?? 0,
      durationNanos: o.durationNanos ?? 0,
      periodType,
      period: o.period ?? 0,
      comment: this.comments,
      defaultSampleType,
    });
  }
}

function grow(a: Int32Array<ArrayBuffer>, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(a.length * 2, min));
  b.set(a);
  return b;
}
