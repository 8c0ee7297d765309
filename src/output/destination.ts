// Where each artifact goes (stdout, -o file, or a named file in the current directory) and the
// writing itself, with a fallback so a profile is not lost to an unwritable path.

import fs from 'node:fs/promises';
import path from 'node:path';
import { NodeprofError, UsageError, errorMessage } from '../errors.js';
import type { Format, ProfileKind } from '../collect/job.js';
import type { TargetSpec } from '../target/target-spec.js';
import { writeFifo } from './fifo.js';
import { RefusedPathError, planWrite, resolveChecked, writeDirect, writePrivateTemp, writeReplacing } from './safe-file.js';

export const EXTENSIONS: Record<Format, string> = {
  pprof: 'pb.gz',
  cpuprofile: 'cpuprofile',
  heapprofile: 'heapprofile',
  collapsed: 'folded',
  heapsnapshot: 'heapsnapshot',
  trace: 'json',
  html: 'html',
  speedscope: 'speedscope.json',
};

export type Destination = { type: 'stdout' } | { type: 'file'; path: string };

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const MAX_PID = 2 ** 31 - 1;

/**
 * What names the target in default file names: only what nodeprof itself knows or has checked.
 * The pid it was asked to attach to (pid:N); else the pid the target reports if it is a plain
 * positive integer (a target can redefine process.pid as any value, '/../../tmp/x' included);
 * else `port<N>`, the port nodeprof connected to.
 */
export function fileNameId(spec: TargetSpec, reportedPid: unknown): string {
  if (spec.kind === 'pid') return String(spec.pid);
  if (typeof reportedPid === 'number' && Number.isSafeInteger(reportedPid) && reportedPid > 0 && reportedPid <= MAX_PID) return String(reportedPid);
  return `port${spec.port}`;
}

export function defaultFileName(kind: ProfileKind, id: string, format: Format, when: Date): string {
  // Never a path: the id comes from fileNameId, but a name is checked where it is made.
  if (!/^[A-Za-z0-9]+$/.test(id)) throw new Error(`unsafe file name id '${id}'`);
  return `nodeprof-${kind}-${id}-${stamp(when)}.${EXTENSIONS[format]}`;
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
  id: string,
  when = new Date(),
): Promise<Map<ProfileKind, Destination>> {
  const out = new Map<ProfileKind, Destination>();
  const named = (dir: string, k: { kind: ProfileKind; format: Format }) =>
    ({ type: 'file', path: path.join(dir, defaultFileName(k.kind, id, k.format, when)) }) as const;
  if (req.output === '-') {
    if (kinds.length > 1) throw new UsageError('-o - writes one profile to stdout, but several kinds were asked for: give -o a directory');
    if (req.needFile) throw new UsageError('--open needs a file: use -o <file> instead of -o -');
    out.set(kinds[0]!.kind, { type: 'stdout' });
    return out;
  }
  if (req.output !== undefined) {
    const resolved = refusedAsUsage(() => resolveChecked(req.output!));
    const isDir =
      resolved !== undefined &&
      (await fs.stat(resolved.path).then(
        (s) => s.isDirectory(),
        () => false,
      ));
    if (isDir) {
      for (const k of kinds) out.set(k.kind, named(req.output, k));
    } else if (kinds.length > 1) {
      throw new UsageError(`several kinds were asked for: -o must name an existing directory, and '${req.output}' is not one`);
    } else {
      out.set(kinds[0]!.kind, { type: 'file', path: req.output });
    }
  } else if (!req.stdoutIsTTY && kinds.length === 1 && !req.needFile) {
    out.set(kinds[0]!.kind, { type: 'stdout' });
    return out;
  } else {
    for (const k of kinds) out.set(k.kind, named('.', k));
  }
  // Refused now, before anything is collected, rather than after the window (checked again when written).
  const seen = new Set<string>();
  for (const k of kinds) {
    const d = out.get(k.kind)!;
    if (d.type !== 'file') continue;
    refusedAsUsage(() => planWrite(d.path, k.kind === 'heapsnapshot'));
    if (seen.has(path.resolve(d.path))) throw new Error(`two kinds were to be written to ${d.path}`);
    seen.add(path.resolve(d.path));
  }
  return out;
}

/**
 * A path refused before collecting is a usage error (exit 2): the command line has to change. Any
 * other failure to look (EACCES on a parent, ELOOP) is left to the write, which keeps the profile.
 */
function refusedAsUsage<T>(check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    if (err instanceof RefusedPathError) throw new UsageError(err.message);
    return undefined;
  }
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

/** Keeps data that could not go where it was asked for in a private temp directory; the path, or undefined. */
export async function keepInTemp(name: string, data: Uint8Array | string): Promise<string | undefined> {
  try {
    return await writePrivateTemp(name, data);
  } catch {
    return undefined;
  }
}

/**
 * Writes a file (never through a link or FIFO of another user, always as a new file renamed into
 * place: see output/safe-file.ts); if that fails (no space, no permission, no such directory,
 * refused), keeps the data in a private temp directory instead and reports both. Returns the path
 * actually written.
 */
export async function writeFileKeeping(file: string, data: Uint8Array | string, log?: (line: string) => void): Promise<{ path: string; warning?: string }> {
  try {
    const plan = planWrite(file, false);
    if (plan.type === 'fifo') {
      // A FIFO waits for a reader; through fs.writeFile that wait would sit on a libuv pool thread,
      // which Node joins on exit: not even a second Ctrl-C could end nodeprof then.
      await writeFifo(plan.path, data, () => log?.(`waiting for a reader of ${file} (Ctrl-C twice to give up)`), plan.magic);
    } else if (plan.type === 'direct') {
      await writeDirect(plan.path, data);
    } else {
      await writeReplacing(plan, data);
    }
    return { path: file };
  } catch (err) {
    const reason = errorMessage(err);
    const kept = await keepInTemp(path.basename(file), data);
    if (kept) return { path: kept, warning: `cannot write ${file} (${reason}); the profile was kept in ${kept}` };
    throw new NodeprofError(`cannot write ${file}: ${reason}`);
  }
}
