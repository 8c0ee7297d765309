// Creating output files without being steered by what is already on disk. nodeprof often runs as
// root in directories others can write to (/tmp): whatever another user left at a path (a symlink
// to /root/important.conf, a 0666 file, a FIFO she reads) must neither be written through nor
// hand her the profile. So a file is always created fresh beside its destination
// (O_CREAT|O_EXCL|O_NOFOLLOW) and renamed onto it; links and FIFOs are used only when they belong
// to nodeprof's own user or to root.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeprofError, errorMessage } from '../errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** Heap snapshots (every string of the process: tokens, passwords) and temp-directory fallbacks. */
export const PRIVATE_MODE = 0o600;

/** A path nodeprof will not write through: what is there belongs to someone else. */
export class RefusedPathError extends NodeprofError {}

function euid(): number {
  return process.geteuid?.() ?? -1;
}

/** Whose links and FIFOs nodeprof goes through: its own user's, and root's (root can do anything anyway). */
function trusted(uid: number): boolean {
  return uid === euid() || uid === 0;
}

/**
 * `file` with every symlink along it resolved, as realpath(3) would, but refusing a link owned by
 * another user (she could point it anywhere after nodeprof looked). Under /proc the links are the
 * kernel's (/dev/stdout -> /proc/self/fd/1 -> pipe:[123]): there the rest is left to open(2), and
 * `magic` says so. A missing part ends the walk: the rest does not exist yet.
 */
export function resolveChecked(file: string): { path: string; magic: boolean } {
  let todo = path.resolve(file).split('/').filter(Boolean);
  let done = '/';
  for (let hops = 0; todo.length > 0;) {
    const name = todo.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      done = path.dirname(done);
      continue;
    }
    const next = path.join(done, name);
    const st = fs.lstatSync(next, { throwIfNoEntry: false });
    if (!st?.isSymbolicLink()) {
      done = next;
      if (!st) return { path: path.join(done, ...todo), magic: false };
      continue;
    }
    if (!trusted(st.uid)) {
      const what = next === path.resolve(file) ? 'it is' : `${next} on its way is`;
      throw new RefusedPathError(`refusing to write through ${file}: ${what} a symlink owned by another user (uid ${st.uid})`);
    }
    if (done === '/proc' || done.startsWith('/proc/')) return { path: path.join(next, ...todo), magic: true };
    if (++hops > 40) throw new NodeprofError(`cannot write ${file}: too many levels of symbolic links`);
    const target = fs.readlinkSync(next);
    if (target.startsWith('/')) done = '/';
    todo = [...target.split('/').filter(Boolean), ...todo];
  }
  return { path: done, magic: false };
}

/** How a destination is written, decided from what is at its path now. */
export type WritePlan =
  /** Created beside `path` and renamed onto it; `exact`: chmod to `mode`, whatever the umask. */
  | { type: 'file'; path: string; mode: number; exact: boolean }
  /** Our own (or root's) FIFO, or a pipe behind /proc: wait for a reader, as `cat > fifo` does. */
  | { type: 'fifo'; path: string; magic: boolean }
  /** A device (/dev/null, /dev/full, a terminal) or a kernel link under /proc: opened as it is. */
  | { type: 'direct'; path: string };

/**
 * Decides how to write `file`. `secret`: always mode 0600 (heap snapshots). Otherwise a new file gets
 * the usual 0666 less the umask (as Go's os.Create); a file of ours that is replaced keeps its mode;
 * one of another user's is replaced by a file of ours, 0600. Throws RefusedPathError for a link or
 * FIFO owned by another user.
 */
export function planWrite(file: string, secret: boolean): WritePlan {
  const { path: real, magic } = resolveChecked(file);
  const st = magic ? fs.statSync(real, { throwIfNoEntry: false }) : fs.lstatSync(real, { throwIfNoEntry: false });
  if (!st) return { type: 'file', path: real, mode: secret ? PRIVATE_MODE : 0o666, exact: secret };
  if (st.isDirectory()) throw new NodeprofError(`cannot write ${file}: it is a directory`);
  if (st.isFIFO()) {
    if (!magic && !trusted(st.uid))
      throw new RefusedPathError(`refusing to write to ${file}: it is a FIFO owned by another user (uid ${st.uid}), who would read the profile`);
    return { type: 'fifo', path: magic ? file : real, magic };
  }
  if (magic || !st.isFile()) return { type: 'direct', path: magic ? file : real };
  const mode = secret || st.uid !== euid() ? PRIVATE_MODE : st.mode & 0o777;
  return { type: 'file', path: real, mode, exact: true };
}

/**
 * Creates a fresh file beside `final` to be renamed onto it: `<final>.partial`, or, if something is
 * already there (a stale one, or one planted), `<final>.<random>.partial`. Never opens an existing
 * file nor follows a link.
 */
export function createBeside(final: string, mode: number, exact: boolean): { fd: number; temp: string } {
  const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
  let temp = `${final}.partial`;
  let fd: number;
  try {
    fd = fs.openSync(temp, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    temp = `${final}.${randomBytes(6).toString('hex')}.partial`;
    fd = fs.openSync(temp, flags, mode);
  }
  if (exact) {
    try {
      fs.fchmodSync(fd, mode);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(temp, { force: true });
      throw err;
    }
  }
  return { fd, temp };
}

/**
 * Opens a device or a /proc link for writing (never creating anything); a regular file is only
 * accepted (and truncated) behind a /proc link, i.e. nodeprof's own stdout redirected to a file.
 */
export function openDirect(file: string): number {
  const fd = fs.openSync(file, O_WRONLY);
  const st = fs.fstatSync(fd);
  if (st.isFile()) {
    if (!resolveChecked(file).magic) {
      fs.closeSync(fd);
      throw new NodeprofError(`cannot write ${file}: it changed while nodeprof was writing`);
    }
    fs.ftruncateSync(fd, 0);
  }
  return fd;
}

/**
 * After opening a FIFO: refuses one that is not ours (or root's), e.g. swapped in since it was
 * checked (the caller closes `fd`). `magic`: reached through /proc (our own stdout): any pipe.
 */
export function checkFifoFd(fd: number, file: string, magic: boolean): void {
  const st = fs.fstatSync(fd);
  if (!st.isFIFO() || (!magic && !trusted(st.uid))) {
    throw new RefusedPathError(`refusing to write to ${file}: it is no longer a FIFO of this user`);
  }
}

/** Writes all of `data` to `fd`, without blocking the event loop. */
export async function writeAll(fd: number, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let at = 0; at < bytes.length;) {
    at += await new Promise<number>((resolve, reject) => fs.write(fd, bytes, at, bytes.length - at, null, (err, n) => (err ? reject(err) : resolve(n))));
  }
}

/** Writes `data` to a device or through /proc (see openDirect). */
export async function writeDirect(file: string, data: Uint8Array | string): Promise<void> {
  const fd = openDirect(file);
  try {
    await writeAll(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` to a new file beside `final`, then renames it into place. */
export async function writeReplacing(plan: Extract<WritePlan, { type: 'file' }>, data: Uint8Array | string): Promise<void> {
  const { fd, temp } = createBeside(plan.path, plan.mode, plan.exact);
  try {
    try {
      await writeAll(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, plan.path);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Keeps `data` in a fresh private directory of the temp directory (mkdtemp: 0700, a name nobody
 * could plant beforehand), as a 0600 file named after `name`. Returns its path.
 */
export async function writePrivateTemp(name: string, data: Uint8Array | string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-'));
  const base = path.basename(name);
  const file = path.join(dir, base && base !== '.' && base !== '..' ? base : 'profile');
  try {
    const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, PRIVATE_MODE);
    try {
      fs.fchmodSync(fd, PRIVATE_MODE);
      await writeAll(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    return file;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new NodeprofError(`cannot write ${file}: ${errorMessage(err)}`);
  }
}
