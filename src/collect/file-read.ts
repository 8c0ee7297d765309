// Reading files a target names (its scripts' paths, their sourceMappingURL comments): only regular
// files, never a FIFO, device or socket (whose open may block or act, whose read may never end),
// only up to a size bound, and never anything of their content in an error message.

import { constants, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { formatBytes, parseSize } from '../size.js';

/** The largest source map nodeprof reads (file or inline), unless NODEPROF_SOURCE_MAP_MAX_SIZE says otherwise. */
export const DEFAULT_MAX_MAP_BYTES = 64 * 1024 ** 2;
export const MAX_MAP_BYTES_ENV = 'NODEPROF_SOURCE_MAP_MAX_SIZE';

/**
 * The source-map size bound from the environment (NODEPROF_SOURCE_MAP_MAX_SIZE: 64MiB, 200m, bytes);
 * a value that is not a size is a UsageError. Read once by the entry points (src/settings.ts).
 */
export function sourceMapMaxBytes(env: NodeJS.ProcessEnv): number {
  const v = env[MAX_MAP_BYTES_ENV];
  if (v === undefined || v.trim() === '') return DEFAULT_MAX_MAP_BYTES;
  try {
    return parseSize(v, MAX_MAP_BYTES_ENV);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Why a file was not read: names the file's kind or size, never its content. */
export class RefusedFile extends Error {}

/** What a file is, for a message, when it is not a regular file. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** True when `file` is `dir` or below it (both absolute, symlinks resolved). */
export function isWithin(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export interface OpenedFile {
  fh: FileHandle;
  /** Its path with every symlink resolved. */
  realPath: string;
  size: number;
  mtimeMs: number;
}

// O_NONBLOCK: should a FIFO be swapped in after the checks, its open returns at once (and the
// fstat below refuses it) instead of waiting for a writer. O_NOCTTY: a terminal never becomes ours.
// O_NOFOLLOW: the resolved path's last component cannot have become a symlink meanwhile.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Opens `file` for reading if it is a regular file (after symlinks), and, with `within`, if its
 * real path is inside that directory. The kind is checked with stat before any open, so a device
 * or FIFO is never opened; the opened descriptor is checked again (fstat: a regular file, the same
 * device and inode as was checked), so a file swapped in between cannot take its place.
 * Throws RefusedFile for a file of the wrong kind or place, the fs error (with its code) otherwise.
 */
export async function openRegularFile(file: string, opts: { within?: string } = {}): Promise<OpenedFile> {
  const st = await fs.stat(file);
  if (!st.isFile()) throw new RefusedFile(`is ${kindOf(st)}, not a regular file`);
  const realPath = await fs.realpath(file);
  if (opts.within !== undefined && !isWithin(realPath, opts.within)) throw new RefusedFile(`is outside ${opts.within}`);
  const fh = await fs.open(realPath, OPEN_FLAGS);
  try {
    const now = await fh.stat();
    if (!now.isFile()) throw new RefusedFile(`is ${kindOf(now)}, not a regular file`);
    if (now.dev !== st.dev || now.ino !== st.ino) throw new RefusedFile('changed while it was being opened');
    return { fh, realPath, size: now.size, mtimeMs: now.mtimeMs };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Reads `length` bytes at `position` (fewer at the end of the file): the only way file contents
 * are read here, so every read has a size fixed before it starts, however the file changes.
 */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** A whole regular file of at most `maxBytes` (see openRegularFile), as UTF-8 text. */
export async function readRegularFile(file: string, maxBytes: number, opts: { within?: string } = {}): Promise<string> {
  const f = await openRegularFile(file, opts);
  try {
    if (f.size > maxBytes) throw new RefusedFile(`is larger than ${formatBytes(maxBytes)} (${formatBytes(f.size)}; ${MAX_MAP_BYTES_ENV} raises the bound)`);
    return (await readAt(f.fh, 0, f.size)).toString('utf8');
  } finally {
    await f.fh.close();
  }
}
