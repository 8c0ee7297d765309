// What nodeprof knows of one output format once a job has collected: which kinds it holds, how its
// files are named, how it is shown on a terminal, what to do with a written file, and, for a format
// made from the pprof model, how to make it. One file per format in this folder, listed in
// index.ts (as py-spy has one Recorder per --format).

import type { Profile } from 'pprof-format';
import type { ProfileKind } from '../../jobs/job.js';

/** What a picture's title says: the kind and what was profiled. */
export interface RenderInfo {
  kind?: string;
  target?: string;
}

export interface FormatWriter {
  /** The kinds this format can hold; the first format listed for a kind is its default. */
  kinds: readonly ProfileKind[];
  /** The default file name's ending, without the dot. */
  extension: string;
  /** The line for the user once `file` is written: what opens it. */
  hint(file: string): string;
  /** Text made safe for a terminal (-o - on a TTY); without it, text is written with terminalLines. */
  forTerminal?(text: string): string;
  /**
   * For a format made from the pprof model (collapsed): the bytes to write. Loads what it needs
   * when called, so that listing the formats (the CLI's --format choices) loads nothing. Formats
   * without it are written as their job made them (pprof, V8's own JSON, trace events).
   */
  render?(profile: Profile, info?: RenderInfo): Promise<string | Uint8Array>;
}
