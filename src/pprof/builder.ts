// Builds a pprof Profile: interns strings, functions and locations once, merges identical stacks,
// and gives every location a stable address from an AddressBook.

import { Function as PFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { AddressBook } from './address-book.js';
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

export class ProfileBuilder {
  private readonly strings = new StringTable();
  private readonly functions = new Map<string, PFunction>();
  private readonly locations = new Map<bigint, Location>();
  private readonly samples = new Map<string, Sample>();
  private readonly comments: number[] = [];
  private readonly addresses: AddressBook;
  private readonly width: number;

  constructor(private readonly opts: BuilderOptions) {
    this.addresses = opts.addresses ?? new AddressBook();
    this.width = opts.sampleTypes.length;
  }

  private str(s: string): number {
    return this.strings.dedup(s);
  }

  private functionId(f: Frame): number {
    const key = `${f.name}\u0000${f.file}\u0000${f.startLine}`;
    let fn = this.functions.get(key);
    if (!fn) {
      fn = new PFunction({
        id: this.functions.size + 1,
        name: this.str(f.name),
        systemName: this.str(f.name),
        filename: this.str(f.file),
        startLine: f.startLine,
      });
      this.functions.set(key, fn);
    }
    return fn.id as number;
  }

  locationId(f: Frame): number {
    const address = this.addresses.address(f);
    let loc = this.locations.get(address);
    if (!loc) {
      loc = new Location({
        id: this.locations.size + 1,
        mappingId: 1,
        address,
        line: [new Line({ functionId: this.functionId(f), line: f.line, column: f.column })],
      });
      this.locations.set(address, loc);
    }
    return loc.id as number;
  }

  /** Adds values for a stack given leaf first; identical stacks with identical labels are merged. */
  addSample(stack: readonly Frame[], values: readonly number[], labels?: Labels): void {
    const ids = stack.map((f) => this.locationId(f));
    this.addSampleIds(ids, values, labels);
  }

  /** Adds values for a stack of location ids (from locationId), leaf first; ids and values are copied. */
  addSampleIds(ids: readonly number[], values: readonly number[], labels?: Labels): void {
    if (values.length !== this.width) throw new Error(`sample has ${values.length} values, profile has ${this.width} types`);
    const labelEntries = labels ? Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
    const key = labelEntries.length === 0 ? `${ids.join(',')}|` : ids.join(',') + '|' + labelEntries.map(([k, v]) => `${k}=${typeof v}:${v}`).join('\u0000');
    const existing = this.samples.get(key);
    if (existing) {
      for (let i = 0; i < values.length; i++) existing.value[i] = (existing.value[i] as number) + values[i]!;
      return;
    }
    this.samples.set(
      key,
      new Sample({
        locationId: [...ids],
        value: [...values],
        label: labelEntries.map(([k, v]) =>
          typeof v === 'number' ? new Label({ key: this.str(k), num: v }) : new Label({ key: this.str(k), str: this.str(v) }),
        ),
      }),
    );
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
    return new Profile({
      sampleType,
      sample: [...this.samples.values()],
      mapping: [mapping],
      location: [...this.locations.values()],
      function: [...this.functions.values()],
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
