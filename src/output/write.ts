// Writing what attach collected: each artifact to its destination (a profile is kept in the temp
// directory rather than lost to a full disk or a closed pipe), the notes and each format's hint,
// the --top table, then --open on the pprof file.

import { errorMessage } from '../errors.js';
import type { Artifact, Format, ProfileKind } from '../jobs/job.js';
import { defaultFileName, keepInTemp, writeFileKeeping, writeToStdout, type Destination } from './destination.js';
import { terminalLines } from './terminal-text.js';
import { topTable } from './top.js';
import { writerFor } from './writers/index.js';

export interface WriteOptions {
  stdoutIsTTY: boolean;
  /** Print the top functions of each pprof artifact (--top). */
  top: boolean;
  /** Open the pprof file in go tool pprof -http (--open). */
  open: boolean;
  /** Names a profile kept in the temp directory (see fileNameId). */
  nameId: string;
  log(line: string): void;
  /** Writes the --top table (stdout unless a profile goes there). */
  printTop(text: string, profileOnStdout: boolean): void;
  openInPprof(file: string): Promise<void>;
}

/** Writes every artifact; returns the exit status (1 when a profile could not go where it was asked to). */
export async function writeArtifacts(artifacts: Artifact[], destinations: Map<ProfileKind, Destination>, io: WriteOptions): Promise<number> {
  let status = 0;
  const written = new Map<Artifact, string>();
  for (const a of artifacts) {
    for (const n of a.notes) io.log(n);
    const dest: Destination = destinations.get(a.kind)!;
    if (a.data !== null) {
      if (dest.type === 'stdout') {
        try {
          await writeToStdout(terminalSafe(a.data, a.format, io.stdoutIsTTY));
        } catch (err) {
          // A full disk or a closed pipe: the profile is kept in the temp directory if it can be.
          const kept = await keepInTemp(defaultFileName(a.kind, io.nameId, a.format, new Date()), a.data);
          if (!kept) throw err;
          io.log(`error: ${errorMessage(err)}; the profile was kept in ${kept}`);
          status = 1;
          written.set(a, kept);
          io.log(hint(a, kept));
        }
      } else {
        const res = await writeFileKeeping(dest.path, a.data, io.log);
        if (res.warning) {
          io.log(`error: ${res.warning}`);
          status = 1;
        }
        written.set(a, res.path);
        io.log(hint(a, res.path));
      }
    } else if (a.writtenTo) {
      written.set(a, a.writtenTo);
      io.log(hint(a, a.writtenTo));
    }
    if (io.top && a.pprof) io.printTop(topTable(a.pprof()), destinations.get(a.kind)?.type === 'stdout');
  }
  if (io.open) {
    const pprofFile = artifacts.find((a) => (a.format === 'pprof' || a.format === 'html') && written.has(a));
    const file = pprofFile && written.get(pprofFile);
    if (file) await io.openInPprof(file);
    else io.log('--open: nothing written in pprof format to open');
  }
  return status;
}

function hint(a: Artifact, file: string): string {
  return writerFor(a.format).hint(file);
}

/** Text written to a terminal (-o - on a TTY) is made safe by its format's writer; anything else is data, kept as is. */
function terminalSafe(data: string | Uint8Array, format: Format, stdoutIsTTY: boolean): string | Uint8Array {
  if (!stdoutIsTTY || typeof data !== 'string') return data;
  // A text format whose writer says nothing still reaches the terminal with its controls escaped.
  return (writerFor(format).forTerminal ?? terminalLines)(data);
}
