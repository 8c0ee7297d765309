// Where each artifact goes (stdout, -o file, or a named file in the current directory) and the
// writing itself, with a fallback so a profile is not lost to an unwritable path.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NodeprofError, UsageError, errorMessage } from '../errors.js';
import type { Format, ProfileKind } from '../collect/job.js';
import { isFifo, writeFifo } from './fifo.js';

export const EXTENSIONS: Record<Format, string> = {
  pprof: 'pb.gz',
  cpuprofile: 'cpuprofile',
  heapprofile: 'heapprofile',
  collapsed: 'folded',
  heapsnapshot: 'heapsnapshot',
  trace: 'json',
};

export type Destination = { type: 'stdout' } | { type: 'file'; path: string };

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function defaultFileName(kind: ProfileKind, pid: number, format: Format, when: Date): string {
  return `nodeprof-${kind}-${pid}-${stamp(when)}.${EXTENSIONS[format]}`;
}

export interface DestinationRequest {
  /** -o value: '-', a file, or a directory (several kinds). */
  output?: string;
  stdoutIsTTY: boolean;
  /** Set when the output must be a file (e.g. --open needs one). */
  needFile?: boolean;
}

/** Decides where each kind is written; throws a UsageError for impossible requests. */
export async function chooseDestinations(
  kinds: Array<{ kind: ProfileKind; format: Format }>,
  req: DestinationRequest,
  pid: number,
  when = new Date(),
): Promise<Map<ProfileKind, Destination>> {
  const out = new Map<ProfileKind, Destination>();
  const named = (dir: string, k: { kind: ProfileKind; format: Format }) =>
    ({ type: 'file', path: path.join(dir, defaultFileName(k.kind, pid, k.format, when)) }) as const;
  if (req.output === '-') {
    if (kinds.length > 1) throw new UsageError('-o - writes one profile to stdout, but several kinds were asked for: give -o a directory');
    if (req.needFile) throw new UsageError('--open needs a file: use -o <file> instead of -o -');
    out.set(kinds[0]!.kind, { type: 'stdout' });
    return out;
  }
  if (req.output !== undefined) {
    const isDir = await fs.stat(req.output).then((s) => s.isDirectory(), () => false);
    if (isDir) {
      for (const k of kinds) out.set(k.kind, named(req.output, k));
    } else if (kinds.length > 1) {
      throw new UsageError(`several kinds were asked for: -o must name an existing directory, and '${req.output}' is not one`);
    } else {
      out.set(kinds[0]!.kind, { type: 'file', path: req.output });
    }
    return out;
  }
  if (!req.stdoutIsTTY && kinds.length === 1 && !req.needFile) {
    out.set(kinds[0]!.kind, { type: 'stdout' });
    return out;
  }
  for (const k of kinds) out.set(k.kind, named('.', k));
  return out;
}

export async function writeToStdout(data: Uint8Array | string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const onError = (err: NodeJS.ErrnoException) => {
      if (failed) return;
      failed = true;
      reject(new NodeprofError(err.code === 'EPIPE' ? 'stdout was closed before the profile was written' : `cannot write to stdout: ${err.message}`));
    };
    process.stdout.on('error', onError);
    process.stdout.write(data, (err) => {
      if (err) {
        // The same failure also comes as an 'error' event on a later tick (a file or device on
        // stdout, e.g. a full disk): the listener stays, or that event would crash nodeprof.
        onError(err);
        return;
      }
      process.stdout.removeListener('error', onError);
      resolve();
    });
  });
}

/** Keeps data that could not go where it was asked for in the temp directory; the path, or undefined. */
export async function keepInTemp(name: string, data: Uint8Array | string): Promise<string | undefined> {
  const kept = path.join(os.tmpdir(), name);
  try {
    await fs.writeFile(kept, data);
    return kept;
  } catch {
    return undefined;
  }
}

/**
 * Writes a file; if that fails (no space, no permission, no such directory), keeps the data in the
 * temp directory instead and reports both. Returns the path actually written.
 */
export async function writeFileKeeping(file: string, data: Uint8Array | string, log?: (line: string) => void): Promise<{ path: string; warning?: string }> {
  try {
    // A FIFO waits for a reader; through fs.writeFile that wait would sit on a libuv pool thread,
    // which Node joins on exit: not even a second Ctrl-C could end nodeprof then.
    if (isFifo(file)) await writeFifo(file, data, () => log?.(`waiting for a reader of ${file} (Ctrl-C twice to give up)`));
    else await fs.writeFile(file, data);
    return { path: file };
  } catch (err) {
    const reason = errorMessage(err);
    const fallback = path.join(os.tmpdir(), path.basename(file) || `nodeprof-${process.pid}`);
    if (path.resolve(fallback) !== path.resolve(file)) {
      try {
        await fs.writeFile(fallback, data);
        return { path: fallback, warning: `cannot write ${file} (${reason}); the profile was kept in ${fallback}` };
      } catch {
        // fall through to the error below
      }
    }
    throw new NodeprofError(`cannot write ${file}: ${reason}`);
  }
}
