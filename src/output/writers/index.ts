// The output formats, format name → writer. To add one: a file in this folder exporting its
// FormatWriter, and one entry below. The entry makes the name a Format, an --format choice, and a
// format of every kind its writer lists (in the order below: the first is the kind's default).

import type { ProfileKind } from '../../jobs/job.js';
import { collapsedWriter } from './collapsed.js';
import { heapsnapshotWriter } from './heapsnapshot.js';
import { htmlWriter } from './html.js';
import { pprofWriter } from './pprof.js';
import { speedscopeWriter } from './speedscope.js';
import { traceWriter } from './trace.js';
import { cpuprofileWriter, heapprofileWriter } from './v8-json.js';
import type { FormatWriter } from './writer.js';

export const WRITERS = {
  pprof: pprofWriter,
  cpuprofile: cpuprofileWriter,
  heapprofile: heapprofileWriter,
  collapsed: collapsedWriter,
  heapsnapshot: heapsnapshotWriter,
  trace: traceWriter,
  html: htmlWriter,
  speedscope: speedscopeWriter,
} satisfies Record<string, FormatWriter>;

export type Format = keyof typeof WRITERS;

/** Every format, in the registry's order (the CLI's --format choices). */
export const FORMATS = Object.keys(WRITERS) as Format[];

export function writerFor(format: Format): FormatWriter {
  return WRITERS[format];
}

/** The formats a kind can be written in, its default first. */
export function formatsFor(kind: ProfileKind): readonly Format[] {
  return FORMATS.filter((f) => writerFor(f).kinds.includes(kind));
}
